//! Behaviour of the checklist capability through the binary and the browser.
