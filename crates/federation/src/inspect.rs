//! `cairn inspect`: how Cairn understands an ActivityPub document. Filled in by its own change.
