//! TCP connections and the image file for the HTTP fetch. The protocol is
//! pure (`netinit_core::http`); this is only the socket and the file.

use std::fs::File;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::{Result, SysError};

/// Opens connections; every one is bounded: `connect` by its timeout,
/// each read and write by `io`.
pub trait Connect: Sync {
    type Stream: Read + Write;
    fn connect(&self, addr: SocketAddr, timeout: Duration, io: Duration) -> Result<Self::Stream>;
}

/// The real TCP stack.
#[derive(Debug, Clone, Copy, Default)]
pub struct Tcp;

impl Connect for Tcp {
    type Stream = TcpStream;
    fn connect(&self, addr: SocketAddr, timeout: Duration, io: Duration) -> Result<TcpStream> {
        let err = |e: &std::io::Error| SysError::from_io("connect", addr.to_string(), e);
        let s = TcpStream::connect_timeout(&addr, timeout).map_err(|e| err(&e))?;
        s.set_read_timeout(Some(io)).map_err(|e| err(&e))?;
        s.set_write_timeout(Some(io)).map_err(|e| err(&e))?;
        Ok(s)
    }
}

/// Where the image goes: written at offsets by several connections at
/// once, read back for the hash.
pub trait Sink: Sync {
    fn write_at(&self, offset: u64, buf: &[u8]) -> Result<()>;
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<usize>;
}

/// A file of a known size (a tmpfs file in practice).
#[derive(Debug)]
pub struct ImageFile {
    file: File,
    path: PathBuf,
}

impl ImageFile {
    /// Creates (truncates) `path`, `len` bytes long.
    pub fn create(path: &Path, len: u64) -> Result<ImageFile> {
        let err = |e: &std::io::Error| SysError::from_io("create", path.display().to_string(), e);
        let file = File::options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(path)
            .map_err(|e| err(&e))?;
        file.set_len(len).map_err(|e| err(&e))?;
        Ok(ImageFile {
            file,
            path: path.to_path_buf(),
        })
    }
}

impl Sink for ImageFile {
    fn write_at(&self, offset: u64, buf: &[u8]) -> Result<()> {
        self.file
            .write_all_at(buf, offset)
            .map_err(|e| SysError::from_io("write", self.path.display().to_string(), &e))
    }
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<usize> {
        FileExt::read_at(&self.file, buf, offset)
            .map_err(|e| SysError::from_io("read", self.path.display().to_string(), &e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_writes_at_offsets_and_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let f = ImageFile::create(&dir.path().join("img"), 8).unwrap();
        f.write_at(4, b"efgh").unwrap();
        f.write_at(0, b"abcd").unwrap();
        let mut buf = [0u8; 8];
        assert_eq!(f.read_at(0, &mut buf).unwrap(), 8);
        assert_eq!(&buf, b"abcdefgh");
    }

    #[test]
    fn a_refused_connection_names_the_address() {
        // Port 1 on loopback: nothing listens there.
        let addr: SocketAddr = "127.0.0.1:1".parse().unwrap();
        let e = Tcp
            .connect(addr, Duration::from_secs(2), Duration::from_secs(2))
            .unwrap_err();
        assert_eq!(e.to_string(), "connect 127.0.0.1:1: ECONNREFUSED");
    }
}
