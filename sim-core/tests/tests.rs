//! Tests that would catch a broken kernel: every run is checked against an independent
//! reference model that walks the trace and the fault plan side by side.

mod capacity;
mod probe;
mod properties;
mod scenarios;
