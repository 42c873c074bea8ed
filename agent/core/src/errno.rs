//! Errno names, so every failure line says `ENOENT`, not `os error 2`.
//!
//! Values are the Linux x86_64/generic ones; we only run on Linux.

/// The symbolic name of a Linux errno, or `None` for one we don't list.
pub fn name(errno: i32) -> Option<&'static str> {
    Some(match errno {
        1 => "EPERM",
        2 => "ENOENT",
        3 => "ESRCH",
        4 => "EINTR",
        5 => "EIO",
        6 => "ENXIO",
        7 => "E2BIG",
        8 => "ENOEXEC",
        9 => "EBADF",
        11 => "EAGAIN",
        12 => "ENOMEM",
        13 => "EACCES",
        14 => "EFAULT",
        15 => "ENOTBLK",
        16 => "EBUSY",
        17 => "EEXIST",
        18 => "EXDEV",
        19 => "ENODEV",
        20 => "ENOTDIR",
        21 => "EISDIR",
        22 => "EINVAL",
        23 => "ENFILE",
        24 => "EMFILE",
        25 => "ENOTTY",
        26 => "ETXTBSY",
        27 => "EFBIG",
        28 => "ENOSPC",
        30 => "EROFS",
        32 => "EPIPE",
        36 => "ENAMETOOLONG",
        38 => "ENOSYS",
        39 => "ENOTEMPTY",
        40 => "ELOOP",
        61 => "ENODATA",
        62 => "ETIME",
        64 => "ENONET",
        65 => "ENOPKG",
        71 => "EPROTO",
        74 => "EBADMSG",
        75 => "EOVERFLOW",
        77 => "EBADFD",
        90 => "EMSGSIZE",
        92 => "ENOPROTOOPT",
        93 => "EPROTONOSUPPORT",
        95 => "EOPNOTSUPP",
        97 => "EAFNOSUPPORT",
        98 => "EADDRINUSE",
        99 => "EADDRNOTAVAIL",
        100 => "ENETDOWN",
        101 => "ENETUNREACH",
        103 => "ECONNABORTED",
        104 => "ECONNRESET",
        105 => "ENOBUFS",
        110 => "ETIMEDOUT",
        111 => "ECONNREFUSED",
        112 => "EHOSTDOWN",
        113 => "EHOSTUNREACH",
        116 => "ESTALE",
        121 => "EREMOTEIO",
        122 => "EDQUOT",
        125 => "ECANCELED",
        126 => "ENOKEY",
        127 => "EKEYEXPIRED",
        128 => "EKEYREVOKED",
        129 => "EKEYREJECTED",
        _ => return None,
    })
}

/// `ENOENT`, or `errno 4242` for one we don't list.
pub fn describe(errno: i32) -> String {
    match name(errno) {
        Some(n) => n.to_owned(),
        None => format!("errno {errno}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        for (n, s) in [
            (2, "ENOENT"),
            (13, "EACCES"),
            (111, "ECONNREFUSED"),
            (93, "EPROTONOSUPPORT"),
        ] {
            assert_eq!(describe(n), s);
        }
        assert_eq!(describe(4242), "errno 4242");
    }
}
