//! The checkers against histories whose verdicts are known independently.

mod anomalies;
mod cases;
mod convergence;
mod corpus;
mod differential;
mod elle;
mod elle_histories;
mod elle_published;
mod fuzz;
mod register_anomalies;
mod session;
