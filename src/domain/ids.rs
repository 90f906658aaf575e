//! Ids in request bodies arrive as integers or as strings of digits (`["1","2"]`).

use serde::{Deserialize, Deserializer, de};
use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, OneOfBuilder, SchemaFormat, Type};
use utoipa::openapi::{RefOr, Schema};
use utoipa::{PartialSchema, ToSchema};

/// A positive id accepted as `1` or `"1"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FlexId(pub i64);

/// `1` or `"1"`, as the body accepts it.
impl PartialSchema for FlexId {
    fn schema() -> RefOr<Schema> {
        OneOfBuilder::new()
            .item(
                ObjectBuilder::new()
                    .schema_type(Type::Integer)
                    .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
                    .minimum(Some(1)),
            )
            .item(
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .pattern(Some("^[0-9]{1,18}$")),
            )
            .description(Some("An id: an integer, or a string of digits (`\"1\"`)"))
            .into()
    }
}

impl ToSchema for FlexId {}

impl<'de> Deserialize<'de> for FlexId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Int(i64),
            Str(String),
        }
        let id = match Raw::deserialize(deserializer)
            .map_err(|_| de::Error::custom("an id must be an integer or a string of digits"))?
        {
            Raw::Int(n) => n,
            Raw::Str(s)
                if !s.is_empty() && s.len() <= 18 && s.bytes().all(|b| b.is_ascii_digit()) =>
            {
                s.parse()
                    .map_err(|_| de::Error::custom("id out of range"))?
            }
            Raw::Str(_) => {
                return Err(de::Error::custom(
                    "an id must be an integer or a string of digits",
                ));
            }
        };
        if id <= 0 {
            return Err(de::Error::custom("an id must be positive"));
        }
        Ok(FlexId(id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_numbers_and_digit_strings() {
        let ids: Vec<FlexId> = serde_json::from_str(r#"[1, "2", "30"]"#).unwrap();
        assert_eq!(ids, vec![FlexId(1), FlexId(2), FlexId(30)]);
    }

    #[test]
    fn rejects_other_shapes() {
        for bad in [
            r#""""#, r#""1a""#, "-1", "0", "1.5", "true", r#""-3""#, "null",
        ] {
            assert!(serde_json::from_str::<FlexId>(bad).is_err(), "{bad}");
        }
    }
}
