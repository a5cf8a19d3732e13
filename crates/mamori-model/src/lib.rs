//! mamori-model
