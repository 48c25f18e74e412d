//! The little of the tar format model bundles need, with no IO: headers of
//! regular files written deterministically (mode 0644, owner 0, time 0, no
//! user names), long paths as a POSIX `x` (PAX) record, sizes past 8 GiB in
//! GNU base-256; and reading those headers back (the CLI's unpacker).
//! Python's `tarfile` and GNU tar read what this writes.

/// Tar's block size; entries are padded to it.
pub const BLOCK: usize = 512;

/// One parsed header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    pub path: String,
    pub size: u64,
    /// `b'0'` (or 0) a regular file, `b'5'` a directory, `b'x'` a PAX
    /// record for the next entry, `b'g'` a global one.
    pub kind: u8,
}

/// Bytes of zero padding after `size` bytes of data.
pub fn padding(size: u64) -> usize {
    let rest = (size % BLOCK as u64) as usize;
    if rest == 0 {
        0
    } else {
        BLOCK - rest
    }
}

/// The header block(s) for a regular file `path` of `size` bytes: one
/// ustar block, preceded by a PAX record (with its data, padded) when the
/// path does not fit ustar's name and prefix fields.
pub fn file_header(path: &str, size: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(BLOCK);
    let (prefix, name) = match split_ustar(path) {
        Some(split) => split,
        None => {
            let record = pax_record("path", path);
            out.extend_from_slice(&block("././@PaxHeader", "", record.len() as u64, b'x'));
            out.extend_from_slice(record.as_bytes());
            out.resize(out.len() + padding(record.len() as u64), 0);
            // The ustar name is a truncated stand-in readers replace.
            out.extend_from_slice(&block(&ascii_cut(path, 100), "", size, b'0'));
            return out;
        }
    };
    out.extend_from_slice(&block(name, prefix, size, b'0'));
    out
}

/// The two zero blocks that end an archive.
pub fn end_of_archive() -> [u8; 2 * BLOCK] {
    [0; 2 * BLOCK]
}

fn ascii_cut(text: &str, max: usize) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if out.len() + c.len_utf8() > max {
            break;
        }
        out.push(c);
    }
    out
}

/// `(prefix, name)` if `path` fits ustar: name ≤ 100 bytes, prefix ≤ 155,
/// split at a `/`.
fn split_ustar(path: &str) -> Option<(&str, &str)> {
    if path.len() <= 100 {
        return Some(("", path));
    }
    let bytes = path.as_bytes();
    for (i, b) in bytes.iter().enumerate() {
        if *b == b'/' && i <= 155 && path.len() - i - 1 <= 100 && i > 0 {
            return Some((&path[..i], &path[i + 1..]));
        }
    }
    None
}

/// `"<len> key=value\n"` where `<len>` counts the whole record.
fn pax_record(key: &str, value: &str) -> String {
    let body = format!(" {key}={value}\n");
    let mut len = body.len() + 1;
    loop {
        let total = len.to_string().len() + body.len();
        if total == len {
            return format!("{len}{body}");
        }
        len = total;
    }
}

fn block(name: &str, prefix: &str, size: u64, kind: u8) -> [u8; BLOCK] {
    let mut h = [0u8; BLOCK];
    put(&mut h[0..100], name.as_bytes());
    put(&mut h[100..108], b"0000644\0");
    put(&mut h[108..116], b"0000000\0");
    put(&mut h[116..124], b"0000000\0");
    if size < 0o77777777777 {
        put(&mut h[124..136], format!("{size:011o}\0").as_bytes());
    } else {
        // GNU base-256: a set high bit, then the size big-endian.
        h[124] = 0x80;
        h[128..136].copy_from_slice(&size.to_be_bytes());
    }
    put(&mut h[136..148], b"00000000000\0");
    h[156] = kind;
    put(&mut h[257..263], b"ustar\0");
    put(&mut h[263..265], b"00");
    put(&mut h[345..500], prefix.as_bytes());
    h[148..156].fill(b' ');
    let sum: u32 = h.iter().map(|b| u32::from(*b)).sum();
    put(&mut h[148..156], format!("{sum:06o}\0 ").as_bytes());
    h
}

fn put(field: &mut [u8], value: &[u8]) {
    let n = value.len().min(field.len());
    field[..n].copy_from_slice(&value[..n]);
}

/// Reads a header block; `None` for a zero block (the end of the archive).
pub fn parse_header(h: &[u8; BLOCK]) -> Result<Option<Header>, String> {
    if h.iter().all(|b| *b == 0) {
        return Ok(None);
    }
    let stored = octal(&h[148..156]).ok_or("a header's checksum is not a number")?;
    let sum: u64 = h
        .iter()
        .enumerate()
        .map(|(i, b)| {
            if (148..156).contains(&i) {
                32
            } else {
                u64::from(*b)
            }
        })
        .sum();
    if stored != sum {
        return Err("a header's checksum does not match: the archive is damaged".into());
    }
    let size = if h[124] & 0x80 != 0 {
        let mut n: u64 = 0;
        for b in &h[125..136] {
            n = n.checked_mul(256).ok_or("an entry size overflows")? + u64::from(*b);
        }
        n
    } else {
        octal(&h[124..136]).ok_or("an entry size is not a number")?
    };
    let text = |field: &[u8]| {
        let end = field.iter().position(|b| *b == 0).unwrap_or(field.len());
        String::from_utf8_lossy(&field[..end]).into_owned()
    };
    let name = text(&h[0..100]);
    let prefix = if &h[257..262] == b"ustar" {
        text(&h[345..500])
    } else {
        String::new()
    };
    let path = if prefix.is_empty() {
        name
    } else {
        format!("{prefix}/{name}")
    };
    Ok(Some(Header {
        path,
        size,
        kind: h[156],
    }))
}

/// The `path` of a PAX record block's data, if it has one.
pub fn pax_path(data: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(data).ok()?;
    let mut rest = text;
    let mut found = None;
    while !rest.is_empty() {
        let (len, _) = rest.split_once(' ')?;
        let len: usize = len.parse().ok()?;
        let record = rest.get(..len)?;
        rest = &rest[len..];
        let (_, kv) = record.split_once(' ')?;
        let kv = kv.strip_suffix('\n')?;
        if let Some(path) = kv.strip_prefix("path=") {
            found = Some(path.to_string());
        }
    }
    found
}

fn octal(field: &[u8]) -> Option<u64> {
    let text: String = field
        .iter()
        .take_while(|b| **b != 0)
        .map(|b| *b as char)
        .collect();
    let text = text.trim();
    if text.is_empty() {
        return Some(0);
    }
    u64::from_str_radix(text, 8).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn first_block(bytes: &[u8]) -> [u8; BLOCK] {
        let mut b = [0u8; BLOCK];
        b.copy_from_slice(&bytes[..BLOCK]);
        b
    }

    #[test]
    fn short_paths_are_one_block_and_read_back() {
        let h = file_header("payload/model.pt", 1234);
        assert_eq!(h.len(), BLOCK);
        let parsed = parse_header(&first_block(&h))
            .expect("valid")
            .expect("an entry");
        assert_eq!(parsed.path, "payload/model.pt");
        assert_eq!(parsed.size, 1234);
        assert_eq!(parsed.kind, b'0');
    }

    #[test]
    fn prefix_split_and_pax_paths_read_back() {
        let long = format!("payload/{}/{}", "d".repeat(120), "f".repeat(80));
        let h = file_header(&long, 5);
        assert_eq!(h.len(), BLOCK);
        let parsed = parse_header(&first_block(&h))
            .expect("valid")
            .expect("an entry");
        assert_eq!(parsed.path, long);

        let longer = format!("payload/{}", "x".repeat(300));
        let h = file_header(&longer, 7);
        let pax = parse_header(&first_block(&h))
            .expect("valid")
            .expect("an entry");
        assert_eq!(pax.kind, b'x');
        let data = &h[BLOCK..BLOCK + pax.size as usize];
        assert_eq!(pax_path(data).as_deref(), Some(longer.as_str()));
        let body_at = BLOCK + pax.size as usize + padding(pax.size);
        let entry = parse_header(&first_block(&h[body_at..]))
            .expect("valid")
            .expect("an entry");
        assert_eq!(entry.size, 7);
    }

    #[test]
    fn huge_sizes_use_base_256() {
        let size = 20u64 << 30;
        let h = file_header("a", size);
        let parsed = parse_header(&first_block(&h))
            .expect("valid")
            .expect("an entry");
        assert_eq!(parsed.size, size);
    }

    #[test]
    fn damage_is_detected_and_zero_blocks_end() {
        let mut h = first_block(&file_header("a", 1));
        h[0] = b'b';
        assert!(parse_header(&h).is_err());
        assert_eq!(parse_header(&[0u8; BLOCK]), Ok(None));
        assert_eq!(padding(0), 0);
        assert_eq!(padding(1), 511);
        assert_eq!(padding(512), 0);
    }
}
