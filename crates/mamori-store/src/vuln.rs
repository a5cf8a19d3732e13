//! Persistence of the vuln capability (tables in migration 0006). Methods are `impl Store` blocks here.

#[allow(unused_imports)]
use crate::Store;
