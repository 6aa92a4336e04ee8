//! API tests: real HTTP against the real app (one per test, random port, own SQLite file), plus
//! tests that run the real binary as a child process.

mod admin;
mod bad_input;
mod faults;
mod guard;
mod helpers;
mod idempotency;
mod inventory;
mod notifications;
mod payments;
mod process;
mod shipments;
