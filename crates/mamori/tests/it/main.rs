//! Behaviour of the `mamori` binary, run as a user would run it.

mod cli;
mod web;
