//! Rules of the clinic that need no database: statuses and their transitions, CPF, priority,
//! working days and slots, flexible ids, clock formats, the clinic's clock.

pub mod clinic_clock;
pub mod cpf;
pub mod estimate;
pub mod ids;
pub mod names;
pub mod price;
pub mod priority;
pub mod slots;
pub mod status;
pub mod time;
pub mod weekdays;
