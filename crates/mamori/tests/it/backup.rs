//! Behaviour of the backup capability through the binary and the browser.
