//! `limit` / `offset` of every list: limit 1 to 100 (default 20), offset 0 or more.

use serde::Deserialize;

use crate::error::{ApiResult, Problems};

/// The raw query values.
#[derive(Debug, Clone, Copy, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Page {
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
    #[param(minimum = 0)]
    pub offset: Option<i64>,
}

pub const MAX_LIMIT: i64 = 100;

impl Page {
    /// `(limit, offset)` after checking the rules; `default_limit` when none was given.
    pub fn resolve(self, default_limit: i64) -> ApiResult<(i64, i64)> {
        let limit = self.limit.unwrap_or(default_limit);
        let offset = self.offset.unwrap_or(0);
        let mut problems = Problems::new();
        problems.check(limit >= 1, "limit must not be less than 1");
        problems.check(limit <= MAX_LIMIT, "limit must not be greater than 100");
        problems.check(offset >= 0, "offset must not be less than 0");
        problems.into_result()?;
        Ok((limit, offset))
    }
}
