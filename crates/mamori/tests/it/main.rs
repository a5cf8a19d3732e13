//! Behaviour of the `mamori` binary, run as a user would run it.

mod backup;
mod bcp;
mod checklist;
mod cli;
mod harness;
mod vuln;
mod web;
