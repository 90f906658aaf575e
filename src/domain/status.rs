//! The status catalogue (contract §3) and its transition table.

use serde::Serialize;
use utoipa::ToSchema;

/// An appointment's status. The discriminant is the catalogue id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    Agendado = 1,
    Checkin = 2,
    EmAtendimento = 3,
    Finalizado = 4,
    Cancelado = 5,
    Confirmado = 6,
    Faltou = 7,
}

/// The `status` object of the payload: `{"id":2,"name":"Check-in","color":"#17a2b8"}`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StatusView {
    pub id: i64,
    pub name: &'static str,
    pub color: &'static str,
}

impl Status {
    pub const ALL: [Status; 7] = [
        Status::Agendado,
        Status::Checkin,
        Status::EmAtendimento,
        Status::Finalizado,
        Status::Cancelado,
        Status::Confirmado,
        Status::Faltou,
    ];

    pub fn id(self) -> i64 {
        self as i64
    }

    pub fn from_id(id: i64) -> Option<Status> {
        Status::ALL.into_iter().find(|s| s.id() == id)
    }

    /// The enum key, e.g. `EM_ATENDIMENTO`.
    pub fn key(self) -> &'static str {
        match self {
            Status::Agendado => "AGENDADO",
            Status::Checkin => "CHECKIN",
            Status::EmAtendimento => "EM_ATENDIMENTO",
            Status::Finalizado => "FINALIZADO",
            Status::Cancelado => "CANCELADO",
            Status::Confirmado => "CONFIRMADO",
            Status::Faltou => "FALTOU",
        }
    }

    /// The display name clients test against (`status.name === 'Check-in'`).
    pub fn name(self) -> &'static str {
        match self {
            Status::Agendado => "Agendado",
            Status::Checkin => "Check-in",
            Status::EmAtendimento => "Em atendimento",
            Status::Finalizado => "Finalizado",
            Status::Cancelado => "Cancelado",
            Status::Confirmado => "Confirmado",
            Status::Faltou => "Faltou",
        }
    }

    pub fn color(self) -> &'static str {
        match self {
            Status::Agendado => "#6c757d",
            Status::Checkin => "#17a2b8",
            Status::EmAtendimento => "#ffc107",
            Status::Finalizado => "#28a745",
            Status::Cancelado => "#dc3545",
            Status::Confirmado => "#007bff",
            Status::Faltou => "#343a40",
        }
    }

    pub fn view(self) -> StatusView {
        StatusView {
            id: self.id(),
            name: self.name(),
            color: self.color(),
        }
    }

    /// Parses one of the documented `action` strings (`check-in`, `CHECKIN`, `finalizados`, ...).
    pub fn from_action(action: &str) -> Option<Status> {
        let status = match action {
            "agendado" | "AGENDADO" => Status::Agendado,
            "check-in" | "CHECKIN" => Status::Checkin,
            "em atendimento" | "EM_ATENDIMENTO" => Status::EmAtendimento,
            "finalizados" | "finalizado" | "FINALIZADO" => Status::Finalizado,
            "cancelado" | "CANCELADO" => Status::Cancelado,
            "confirmado" | "CONFIRMADO" => Status::Confirmado,
            "faltou" | "FALTOU" => Status::Faltou,
            _ => return None,
        };
        Some(status)
    }

    /// Whether the transition table allows `self → to` (the same status is handled by callers).
    pub fn can_move_to(self, to: Status) -> bool {
        use Status::*;
        matches!(
            (self, to),
            (Agendado, Confirmado | Checkin | Cancelado | Faltou)
                | (Confirmado, Agendado | Checkin | Cancelado | Faltou)
                | (Checkin, EmAtendimento | Agendado | Cancelado)
                | (EmAtendimento, Finalizado | Checkin | Cancelado)
        )
    }
}

/// Every accepted action string, for error messages.
pub const ACTIONS: &str = "agendado, check-in, em atendimento, finalizado, finalizados, cancelado, confirmado, faltou (or the enum keys)";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_documented_action_parses_to_its_status() {
        let cases = [
            ("agendado", Status::Agendado),
            ("AGENDADO", Status::Agendado),
            ("check-in", Status::Checkin),
            ("CHECKIN", Status::Checkin),
            ("em atendimento", Status::EmAtendimento),
            ("EM_ATENDIMENTO", Status::EmAtendimento),
            ("finalizados", Status::Finalizado),
            ("finalizado", Status::Finalizado),
            ("FINALIZADO", Status::Finalizado),
            ("cancelado", Status::Cancelado),
            ("CANCELADO", Status::Cancelado),
            ("confirmado", Status::Confirmado),
            ("CONFIRMADO", Status::Confirmado),
            ("faltou", Status::Faltou),
            ("FALTOU", Status::Faltou),
        ];
        for (action, status) in cases {
            assert_eq!(Status::from_action(action), Some(status), "{action}");
        }
        assert_eq!(Status::from_action("Check-in"), None);
        assert_eq!(Status::from_action(""), None);
    }

    #[test]
    fn final_statuses_allow_no_move() {
        for from in [Status::Finalizado, Status::Cancelado, Status::Faltou] {
            for to in Status::ALL {
                assert!(!from.can_move_to(to), "{from:?} -> {to:?}");
            }
        }
    }

    #[test]
    fn checkin_payload_status_is_the_documented_one() {
        let v = Status::Checkin.view();
        assert_eq!((v.id, v.name, v.color), (2, "Check-in", "#17a2b8"));
    }

    #[test]
    fn ids_round_trip() {
        for s in Status::ALL {
            assert_eq!(Status::from_id(s.id()), Some(s));
        }
    }
}
