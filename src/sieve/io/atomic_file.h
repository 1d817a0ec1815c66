// Atomic file replacement: a reader (or a crash) sees either the old file or the complete new
// one, never a torn write. Checkpoints, configs and safetensors files are written this way.
#pragma once

#include <cstddef>
#include <filesystem>
#include <functional>
#include <ostream>
#include <span>

namespace sieve::io {

// Writes `path` atomically: `writer` fills a temporary file `<path>.tmp.<pid>.<n>` in the same
// directory; the file is flushed and fsync'ed, renamed over `path`, and the directory is
// fsync'ed so the rename itself survives a power cut.
//
// Contract:
//  * If `writer` throws, or any step fails, the temporary file is removed, `path` is left as
//    it was, and the exception propagates (I/O failures are core::UserError naming the path).
//  * The stream is binary. `writer` need not flush; a stream left in a failed state (e.g. disk
//    full) is an error.
//  * `path` is replaced as a new inode, so a reader that has the old file open or
//    memory-mapped keeps seeing the old bytes. A symlink at `path` is replaced, not followed;
//    the new file gets default permissions (0666 & ~umask).
void write_file_atomically(const std::filesystem::path& path, const std::function<void(std::ostream&)>& writer);

// write_file_atomically() with a writer that emits `bytes`.
void write_bytes_atomically(const std::filesystem::path& path, std::span<const std::byte> bytes);

}  // namespace sieve::io
