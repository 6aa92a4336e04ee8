//! The web page's and dashboard's endpoints over real HTTP: orders placed through the real
//! ingest-fn (which checks the storefront's signature), run by a real local worker on the real
//! Temporal dev server, followed through the status and dashboard endpoints; plus bad input,
//! missing configuration and Temporal being down.

#[path = "../support/mod.rs"]
mod support;

mod bad_input;
mod binary;
mod pages;
mod through_the_stack;
mod unavailable;
