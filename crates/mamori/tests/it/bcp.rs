//! Behaviour of the bcp capability through the binary and the browser.
