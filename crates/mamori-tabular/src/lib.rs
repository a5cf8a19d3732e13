//! mamori-tabular
