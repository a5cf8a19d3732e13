//! Behaviour of the vuln capability through the binary and the browser.
