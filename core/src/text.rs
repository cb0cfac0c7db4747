//! Where text is written: the one sink the renderers take.

use core::fmt;

/// A sink for text. The renderers take `&mut dyn Text` rather than
/// `&mut dyn fmt::Write`: the vtable of a `dyn fmt::Write` carries `write_fmt`, and
/// with it core::fmt's formatting machinery (about 1.5 KB of flash on a Cortex-M), into
/// every firmware, whether anything formats or not. Every `fmt::Write` is a `Text`.
pub(crate) trait Text {
    /// Writes `s`.
    fn write_str(&mut self, s: &str) -> fmt::Result;
}

impl<W: fmt::Write + ?Sized> Text for W {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        fmt::Write::write_str(self, s)
    }
}
