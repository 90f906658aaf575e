//! What the tests of the real binary share: a `fila serve` child, ready once it has printed its
//! address, and killed when dropped. Each test crate uses what it needs.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

pub const FILA: &str = env!("CARGO_BIN_EXE_fila");

pub struct Server {
    pub child: Child,
    pub base: String,
}

impl Server {
    /// Spawns `command` (a `fila serve`) with its stdout read here, and waits for the line
    /// that gives its address.
    pub fn start(command: &mut Command) -> Server {
        let mut child = command.stdout(Stdio::piped()).spawn().expect("start fila");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let base = loop {
            let line = lines
                .next()
                .expect("fila printed its address before exiting")
                .expect("read stdout");
            if let Some(address) = line.strip_prefix("Fila is running at ") {
                break address.trim().to_string();
            }
        };
        Server { child, base }
    }

    /// Stops the server and waits until it has exited (its lock released).
    pub fn stop(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
