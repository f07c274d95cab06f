//! A serial port opened read-only, in raw mode, at a given speed and framing.
//!
//! `serialport` (used for the port list and in tests) always opens ports read-write; the
//! bridge never writes to a receiver, so it opens the device itself with `O_RDONLY` and sets
//! the line with termios through `rustix`. Nothing the bridge does can then send a byte to a
//! unit, whatever a bug elsewhere might try.

use std::fmt;
use std::fs::File;
use std::io::{self, Read};
use std::path::Path;
use std::time::Duration;

use rustix::event::{PollFd, PollFlags, Timespec, poll};
use rustix::fs::{Mode, OFlags};
use rustix::termios::{
    ControlModes, OptionalActions, QueueSelector, tcflush, tcgetattr, tcsetattr,
};
use serde::Serialize;

/// Character framing. NMEA 0183 is 8N1; gpsd also tries 7N2 on alternate hunting passes,
/// for receivers configured that way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Framing {
    #[serde(rename = "8N1")]
    EightNoneOne,
    #[serde(rename = "7N2")]
    SevenNoneTwo,
}

impl Framing {
    pub fn name(self) -> &'static str {
        match self {
            Framing::EightNoneOne => "8N1",
            Framing::SevenNoneTwo => "7N2",
        }
    }
}

impl fmt::Display for Framing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What one timed read returned.
#[derive(Debug, PartialEq, Eq)]
pub enum ReadOutcome {
    Bytes(usize),
    /// Nothing arrived within the timeout.
    Idle,
    /// The device is gone (unplugged) or hung up.
    Closed,
}

pub struct ReadOnlyTty {
    file: File,
}

impl ReadOnlyTty {
    /// Opens `path` read-only, without making it the controlling terminal, in raw mode.
    ///
    /// A USB serial port is opened with the driver's default line: canonical, with ECHO. Its
    /// line discipline echoes what the unit sends back *to the unit* (in the kernel, whatever
    /// the descriptor's mode), and some receivers take input as commands. So the line is made
    /// raw (no echo) at once, before anything is read, and the output queue is then dropped:
    /// whatever echo the kernel had queued but not yet sent. What came in stays to be read:
    /// sentences a unit sent before the open are real (their checksums sort out any that came
    /// in at the wrong speed), and dropping the input lost a re-docked unit's first sentences.
    /// Linux keeps a USB serial port's line between opens, so only the first open after
    /// docking has this window. (No `stty` in a udev rule: it would open the port with the
    /// same window, at plug time.)
    pub fn open(path: &Path, baud: u32, framing: Framing) -> io::Result<Self> {
        let fd = rustix::fs::open(
            path,
            OFlags::RDONLY | OFlags::NOCTTY | OFlags::NONBLOCK | OFlags::CLOEXEC,
            Mode::empty(),
        )?;
        let tty = ReadOnlyTty {
            file: File::from(fd),
        };
        tty.configure(baud, framing)?;
        tcflush(&tty.file, QueueSelector::OFlush)?;
        Ok(tty)
    }

    /// Changes the speed and framing, and drops whatever was received at the old ones.
    pub fn set_line(&self, baud: u32, framing: Framing) -> io::Result<()> {
        self.configure(baud, framing)?;
        tcflush(&self.file, QueueSelector::IFlush)?;
        Ok(())
    }

    fn configure(&self, baud: u32, framing: Framing) -> io::Result<()> {
        let mut termios = tcgetattr(&self.file)?;
        termios.make_raw();
        termios.set_speed(baud)?;
        let mut control = termios.control_modes;
        control.remove(ControlModes::CSIZE | ControlModes::PARENB | ControlModes::CSTOPB);
        control.insert(ControlModes::CLOCAL | ControlModes::CREAD);
        control.insert(match framing {
            Framing::EightNoneOne => ControlModes::CS8,
            Framing::SevenNoneTwo => ControlModes::CS7 | ControlModes::CSTOPB,
        });
        termios.control_modes = control;
        tcsetattr(&self.file, OptionalActions::Now, &termios)?;
        Ok(())
    }

    /// Waits up to `timeout` for bytes and reads what is there.
    pub fn read_timeout(&mut self, buf: &mut [u8], timeout: Duration) -> io::Result<ReadOutcome> {
        let wait = Timespec {
            tv_sec: timeout.as_secs() as _,
            tv_nsec: timeout.subsec_nanos() as _,
        };
        let mut fds = [PollFd::new(&self.file, PollFlags::IN)];
        match poll(&mut fds, Some(&wait)) {
            Ok(0) => return Ok(ReadOutcome::Idle),
            Ok(_) => {}
            Err(rustix::io::Errno::INTR) => return Ok(ReadOutcome::Idle),
            Err(e) => return Err(e.into()),
        }
        let revents = fds[0].revents();
        if !revents.contains(PollFlags::IN)
            && revents.intersects(PollFlags::HUP | PollFlags::ERR | PollFlags::NVAL)
        {
            return Ok(ReadOutcome::Closed);
        }
        match self.file.read(buf) {
            Ok(0) => Ok(ReadOutcome::Closed),
            Ok(n) => Ok(ReadOutcome::Bytes(n)),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted
                ) =>
            {
                Ok(ReadOutcome::Idle)
            }
            // A pty whose other end closed, or a USB adapter pulled out, reads as EIO.
            Err(e) if e.raw_os_error() == Some(rustix::io::Errno::IO.raw_os_error()) => {
                Ok(ReadOutcome::Closed)
            }
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serialport::{DataBits, SerialPort, StopBits, TTYPort};
    use std::io::Write;

    #[test]
    fn the_line_is_raw_without_echo_and_what_came_before_is_kept() {
        use rustix::termios::LocalModes;
        let (mut master, slave) = TTYPort::pair().unwrap();
        let path = slave.name().unwrap();
        // The port as a driver hands it over: canonical, echoing.
        let line_setter = rustix::fs::open(
            path.as_str(),
            OFlags::RDWR | OFlags::NOCTTY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .unwrap();
        let mut cooked = tcgetattr(&line_setter).unwrap();
        cooked.local_modes |= LocalModes::ICANON | LocalModes::ECHO;
        tcsetattr(&line_setter, OptionalActions::Now, &cooked).unwrap();
        // A sentence already waiting when the bridge opens the port.
        master.write_all(b"$GPGGA,stale\r\n").unwrap();
        // The cooked line echoes it back to the unit: once that is read, the sentence is in
        // the line discipline, waiting.
        let mut echoed = [0u8; 64];
        master.set_timeout(Duration::from_secs(5)).unwrap();
        let n = master.read(&mut echoed).unwrap();
        assert!(echoed[..n].starts_with(b"$GPGGA"), "{:?}", &echoed[..n]);
        master.set_timeout(Duration::from_millis(200)).unwrap();
        let _ = master.read(&mut echoed);

        let mut tty = ReadOnlyTty::open(Path::new(&path), 4800, Framing::EightNoneOne).unwrap();
        let line = tcgetattr(&tty.file).unwrap();
        assert!(!line.local_modes.contains(LocalModes::ECHO));
        assert!(!line.local_modes.contains(LocalModes::ICANON));
        let mut buf = [0u8; 64];
        let waiting = tty.read_timeout(&mut buf, Duration::from_secs(2)).unwrap();
        assert_eq!(
            waiting,
            ReadOutcome::Bytes(14),
            "the waiting sentence is kept"
        );
        assert_eq!(&buf[..14], b"$GPGGA,stale\r\n");

        // From now on nothing goes back to the unit, and what it sends arrives as sent (an
        // echo is queued before the bytes can be read, so it would be there by now).
        master.write_all(b"$GPRMC\r\n").unwrap();
        let read = tty.read_timeout(&mut buf, Duration::from_secs(2)).unwrap();
        assert_eq!(read, ReadOutcome::Bytes(8));
        assert_eq!(&buf[..8], b"$GPRMC\r\n");
        let echo = master.read(&mut echoed);
        assert!(
            matches!(&echo, Err(e) if e.kind() == io::ErrorKind::TimedOut),
            "echoed to the unit: {echo:?}"
        );
    }

    #[test]
    fn opens_read_only_sets_the_line_and_notices_the_unit_going_away() {
        let (mut master, slave) = TTYPort::pair().unwrap();
        let path = slave.name().unwrap();
        let mut tty = ReadOnlyTty::open(Path::new(&path), 4800, Framing::SevenNoneTwo).unwrap();
        // A pseudo-terminal keeps the speed and stop bits it is given, but Linux forces its
        // character size to 8 bits, so only those two can be checked here.
        assert_eq!(slave.baud_rate().unwrap(), 4800);
        assert_eq!(slave.stop_bits().unwrap(), StopBits::Two);
        // The descriptor cannot write.
        assert!(tty.file.write_all(b"x").is_err());

        tty.set_line(19200, Framing::EightNoneOne).unwrap();
        assert_eq!(slave.baud_rate().unwrap(), 19200);
        assert_eq!(slave.data_bits().unwrap(), DataBits::Eight);
        assert_eq!(slave.stop_bits().unwrap(), StopBits::One);

        let mut buf = [0u8; 64];
        let quiet = tty.read_timeout(&mut buf, Duration::from_millis(20));
        assert_eq!(quiet.unwrap(), ReadOutcome::Idle);
        master.write_all(b"$GPGGA\r\n").unwrap();
        let read = tty.read_timeout(&mut buf, Duration::from_secs(2)).unwrap();
        assert_eq!(read, ReadOutcome::Bytes(8));
        assert_eq!(&buf[..8], b"$GPGGA\r\n");

        drop(master);
        drop(slave);
        let gone = tty.read_timeout(&mut buf, Duration::from_secs(2)).unwrap();
        assert_eq!(gone, ReadOutcome::Closed);
    }
}
