//! Integration tests for the HTTP API and the realtime gateway: real HTTP and WebSockets
//! against a server bound to port 0 with a fresh SQLite database per test. One binary,
//! one module per area.

mod accounts;
mod channels;
mod database_outage;
mod errors;
mod events;
mod files;
mod isolation;
mod lifecycle;
mod members;
mod messages;
mod migrate_data;
mod multinode;
mod multinode_presence;
mod notify;
mod openapi;
mod realtime;
mod search;
mod support;
mod threads;
mod users;
mod web_client;
