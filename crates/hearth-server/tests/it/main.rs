//! Integration tests for the HTTP API: real HTTP against a server bound to port 0 with a
//! fresh SQLite database per test. One binary, one module per area.

mod accounts;
mod channels;
mod errors;
mod events;
mod isolation;
mod lifecycle;
mod members;
mod messages;
mod openapi;
mod support;
mod threads;
mod users;
