//! Errno names, so every failure line says `ENOENT`, not `os error 2`.
//!
//! Values are the Linux x86_64/generic ones; we only run on Linux.

macro_rules! errnos {
    ($($name:ident = $n:literal,)*) => {
        $(pub const $name: i32 = $n;)*

        /// The symbolic name of a Linux errno, or `None` for one we don't list.
        pub fn name(errno: i32) -> Option<&'static str> {
            Some(match errno {
                $($name => stringify!($name),)*
                _ => return None,
            })
        }
    };
}

// One list makes both the constants the code compares with and the names
// the log prints.
errnos! {
    EPERM = 1,
    ENOENT = 2,
    ESRCH = 3,
    EINTR = 4,
    EIO = 5,
    ENXIO = 6,
    E2BIG = 7,
    ENOEXEC = 8,
    EBADF = 9,
    EAGAIN = 11,
    ENOMEM = 12,
    EACCES = 13,
    EFAULT = 14,
    ENOTBLK = 15,
    EBUSY = 16,
    EEXIST = 17,
    EXDEV = 18,
    ENODEV = 19,
    ENOTDIR = 20,
    EISDIR = 21,
    EINVAL = 22,
    ENFILE = 23,
    EMFILE = 24,
    ENOTTY = 25,
    ETXTBSY = 26,
    EFBIG = 27,
    ENOSPC = 28,
    EROFS = 30,
    EPIPE = 32,
    ENAMETOOLONG = 36,
    ENOSYS = 38,
    ENOTEMPTY = 39,
    ELOOP = 40,
    ENODATA = 61,
    ETIME = 62,
    ENONET = 64,
    ENOPKG = 65,
    EPROTO = 71,
    EBADMSG = 74,
    EOVERFLOW = 75,
    EBADFD = 77,
    EMSGSIZE = 90,
    ENOPROTOOPT = 92,
    EPROTONOSUPPORT = 93,
    EOPNOTSUPP = 95,
    EAFNOSUPPORT = 97,
    EADDRINUSE = 98,
    EADDRNOTAVAIL = 99,
    ENETDOWN = 100,
    ENETUNREACH = 101,
    ECONNABORTED = 103,
    ECONNRESET = 104,
    ENOBUFS = 105,
    ETIMEDOUT = 110,
    ECONNREFUSED = 111,
    EHOSTDOWN = 112,
    EHOSTUNREACH = 113,
    ESTALE = 116,
    EREMOTEIO = 121,
    EDQUOT = 122,
    ECANCELED = 125,
    ENOKEY = 126,
    EKEYEXPIRED = 127,
    EKEYREVOKED = 128,
    EKEYREJECTED = 129,
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
