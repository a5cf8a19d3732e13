//! Persistence of the checklist capability (tables in migration 0004). Methods are `impl Store` blocks here.

#[allow(unused_imports)]
use crate::Store;
