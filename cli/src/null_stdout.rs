//! Whether the process's stdout is /dev/null, where a new token would be lost.

/// Whether stdout is `/dev/null`: redirected there, or closed (the Rust
/// runtime reopens a closed stdout on `/dev/null` before `main`, so every
/// write to it succeeds and reaches no one). Unix only: it compares
/// stdout's file with `/dev/null`'s by device and inode (or, for a
/// `/dev/null` bound in from elsewhere, by the character device it is);
/// elsewhere it answers `false`, and nothing is checked.
pub(crate) fn stdout_is_null() -> bool {
    #[cfg(unix)]
    {
        use std::os::fd::AsFd;
        use std::os::unix::fs::{FileTypeExt, MetadataExt};

        let Ok(fd) = std::io::stdout().as_fd().try_clone_to_owned() else {
            return false;
        };
        let (Ok(out), Ok(null)) = (
            std::fs::File::from(fd).metadata(),
            std::fs::metadata("/dev/null"),
        ) else {
            return false;
        };
        // The same device, whichever node names it (a /dev/null bound in
        // from elsewhere too): /dev/null itself is one such node.
        let char_device = |m: &std::fs::Metadata| m.file_type().is_char_device();
        char_device(&out) && char_device(&null) && out.rdev() == null.rdev()
    }
    #[cfg(not(unix))]
    {
        false
    }
}
