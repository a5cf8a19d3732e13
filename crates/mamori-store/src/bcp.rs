//! Persistence of the bcp capability (tables in migration 0005). Methods are `impl Store` blocks here.

#[allow(unused_imports)]
use crate::Store;
