//! Does a Linux binary run on Lambda's `provided.al2023`? Checked from the ELF itself.
//!
//! A dynamically linked binary names, for every glibc symbol it uses, the glibc version that
//! introduced it (`memcpy@GLIBC_2.14`, in the `.gnu.version_r` section). The dynamic loader
//! refuses to start a binary that needs a version newer than the system's, and Amazon Linux 2023
//! ships glibc 2.34: a binary linked on a newer system (this machine has 2.36) can fail at
//! the first cold start with "version `GLIBC_2.35' not found", long after it deployed cleanly.
//! `cargo xtask package` links against glibc 2.34 through cargo-lambda's zig linker, and this
//! check proves it on the artefact, along with the CPU architecture, before anything ships.
//!
//! Why not a static musl build instead: musl's allocator is markedly slower for the SDK's
//! many small allocations, and glibc is what `provided.al2023` is made for; the check keeps the
//! glibc build honest. A static binary (no version needs at all) passes the check too.
//!
//! This file is also compiled into xtask's integration tests (`#[path]`), which inspect the
//! zips `cargo xtask package` wrote with the same rules.

use std::collections::BTreeSet;
use std::fmt;

use object::Endianness;
use object::elf;
use object::read::elf::{ElfFile64, FileHeader, ProgramHeader};

/// The glibc of Lambda's `provided.al2023` runtime.
pub const AL2023_GLIBC: GlibcVersion = GlibcVersion(2, 34);

/// A glibc symbol version such as `GLIBC_2.34`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct GlibcVersion(pub u32, pub u32);

impl GlibcVersion {
    /// `GLIBC_2.34` → 2.34; `GLIBC_2.2.5` → 2.2 (a third part never decides compatibility
    /// here); anything else (e.g. `GLIBC_PRIVATE`) → `None`.
    pub fn parse(name: &str) -> Option<Self> {
        let mut parts = name.strip_prefix("GLIBC_")?.split('.');
        let major = parts.next()?.parse().ok()?;
        let minor = parts.next()?.parse().ok()?;
        Some(Self(major, minor))
    }
}

impl fmt::Display for GlibcVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.0, self.1)
    }
}

/// A CPU architecture Lambda runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Machine {
    X86_64,
    Aarch64,
}

/// What a binary needs from the system it runs on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requirements {
    pub machine: Machine,
    /// Every glibc version named (`GLIBC_2.34`, `GLIBC_PRIVATE`, ...); empty for a static binary.
    pub glibc_versions: BTreeSet<String>,
}

impl Requirements {
    /// The newest numbered glibc version needed, if any.
    pub fn newest_glibc(&self) -> Option<GlibcVersion> {
        self.glibc_versions
            .iter()
            .filter_map(|v| GlibcVersion::parse(v))
            .max()
    }

    /// Why the binary would not start on a system with glibc `available` and CPU `machine`,
    /// or `Ok` with the newest version it needs.
    pub fn check(
        &self,
        machine: Machine,
        available: GlibcVersion,
    ) -> Result<Option<GlibcVersion>, String> {
        if self.machine != machine {
            return Err(format!("built for {:?}, not {machine:?}", self.machine));
        }
        let unusable: Vec<&str> = self
            .glibc_versions
            .iter()
            .filter(|v| GlibcVersion::parse(v).is_none_or(|parsed| parsed > available))
            .map(String::as_str)
            .collect();
        if !unusable.is_empty() {
            return Err(format!(
                "needs {} but provided.al2023 has glibc {available}",
                unusable.join(", ")
            ));
        }
        Ok(self.newest_glibc())
    }
}

/// Reads the machine and the glibc version needs of a 64-bit ELF executable.
pub fn requirements(data: &[u8]) -> Result<Requirements, String> {
    let file =
        ElfFile64::<Endianness>::parse(data).map_err(|e| format!("not a 64-bit ELF file: {e}"))?;
    let endian = file.endian();
    let machine = match file.elf_header().e_machine(endian) {
        elf::EM_X86_64 => Machine::X86_64,
        elf::EM_AARCH64 => Machine::Aarch64,
        other => return Err(format!("unsupported ELF machine {other}")),
    };
    let mut glibc_versions = BTreeSet::new();
    let sections = file.elf_section_table();
    let bad = |e: object::Error| format!("malformed .gnu.version_r: {e}");
    if let Some((mut needs, link)) = sections.gnu_verneed(endian, data).map_err(bad)? {
        let strings = sections.strings(endian, data, link).map_err(bad)?;
        while let Some((_library, mut auxes)) = needs.next().map_err(bad)? {
            while let Some(aux) = auxes.next().map_err(bad)? {
                // Other libraries' versions (libgcc_s: GCC_3.0) do not limit the glibc needed.
                let name =
                    String::from_utf8_lossy(aux.name(endian, strings).map_err(bad)?).into_owned();
                if name.starts_with("GLIBC_") {
                    glibc_versions.insert(name);
                }
            }
        }
    }
    // A dynamically linked binary always names glibc versions; finding none means the section
    // headers are gone (sstrip), not that it needs nothing: refuse rather than pass blindly.
    let dynamic = file
        .elf_program_headers()
        .iter()
        .any(|header| header.p_type(endian) == elf::PT_INTERP);
    if dynamic && glibc_versions.is_empty() {
        return Err("dynamically linked, but no glibc version needs could be read".to_owned());
    }
    Ok(Requirements {
        machine,
        glibc_versions,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_parse_and_order() {
        assert_eq!(GlibcVersion::parse("GLIBC_2.34"), Some(GlibcVersion(2, 34)));
        assert_eq!(GlibcVersion::parse("GLIBC_2.2.5"), Some(GlibcVersion(2, 2)));
        assert_eq!(GlibcVersion::parse("GLIBC_PRIVATE"), None);
        assert_eq!(GlibcVersion::parse("GCC_3.0"), None);
        assert!(GlibcVersion(2, 35) > AL2023_GLIBC && GlibcVersion(2, 9) < AL2023_GLIBC);
    }

    fn needs(machine: Machine, versions: &[&str]) -> Requirements {
        Requirements {
            machine,
            glibc_versions: versions.iter().map(|v| (*v).to_owned()).collect(),
        }
    }

    #[test]
    fn the_rule() {
        let ok = needs(
            Machine::X86_64,
            &["GLIBC_2.2.5", "GLIBC_2.34", "GLIBC_2.17"],
        );
        assert_eq!(
            ok.check(Machine::X86_64, AL2023_GLIBC),
            Ok(Some(GlibcVersion(2, 34)))
        );
        assert_eq!(
            needs(Machine::X86_64, &[]).check(Machine::X86_64, AL2023_GLIBC),
            Ok(None)
        );
        let too_new = needs(Machine::X86_64, &["GLIBC_2.17", "GLIBC_2.35"])
            .check(Machine::X86_64, AL2023_GLIBC);
        assert!(too_new.unwrap_err().contains("GLIBC_2.35"));
        let private =
            needs(Machine::X86_64, &["GLIBC_PRIVATE"]).check(Machine::X86_64, AL2023_GLIBC);
        assert!(private.unwrap_err().contains("GLIBC_PRIVATE"));
        assert!(
            ok.check(Machine::Aarch64, AL2023_GLIBC)
                .unwrap_err()
                .contains("X86_64")
        );
    }

    /// The running test binary is a real ELF linked on this machine: it needs some glibc.
    #[test]
    fn reads_a_real_binary() {
        let me = std::fs::read(std::env::current_exe().unwrap()).unwrap();
        let found = requirements(&me).unwrap();
        assert_eq!(
            found.machine,
            if cfg!(target_arch = "aarch64") {
                Machine::Aarch64
            } else {
                Machine::X86_64
            }
        );
        assert!(found.newest_glibc().is_some(), "{found:?}");
    }

    #[test]
    fn hostile_input_is_an_error_not_a_panic() {
        assert!(requirements(b"").is_err());
        assert!(requirements(b"#!/bin/sh\necho hi\n").is_err());
        let me = std::fs::read(std::env::current_exe().unwrap()).unwrap();
        for cut in [4, 16, 64, 1000, me.len() / 2] {
            let _ = requirements(&me[..cut]);
        }
        // Flip bytes all over the headers: any answer is fine, a panic is not.
        let mut mangled = me[..me.len().min(1 << 20)].to_vec();
        for i in (0..mangled.len()).step_by(97) {
            mangled[i] ^= 0xA5;
        }
        let _ = requirements(&mangled);
    }
}
