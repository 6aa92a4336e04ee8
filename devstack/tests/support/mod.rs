//! Helpers shared by devstack's integration tests.

pub mod fake_lambda;
