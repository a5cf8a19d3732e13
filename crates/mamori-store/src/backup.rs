//! Persistence of the backup capability (tables in migration 0007). Methods are `impl Store` blocks here.

#[allow(unused_imports)]
use crate::Store;
