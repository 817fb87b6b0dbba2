//! The checkers against histories whose verdicts are known independently.

mod cases;
mod corpus;
mod differential;
mod fuzz;
mod session;
