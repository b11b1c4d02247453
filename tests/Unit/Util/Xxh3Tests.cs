using System.IO.Hashing;
using System.Runtime.InteropServices;
using Grouper.Util;
using Xunit;

namespace Grouper.Tests;

/// <summary>
/// Checksums are the same whichever library computes them: the system's libxxhash where it is installed,
/// System.IO.Hashing elsewhere, at every length XXH3 treats apart and appended in any pieces.
/// </summary>
public class Xxh3Tests
{
    [Fact]
    public void The_system_library_is_used_where_it_is_installed()
    {
        bool installed = OperatingSystem.IsLinux() && NativeLibrary.TryLoad("libxxhash.so.0", out _);
        using var h = new Xxh3();
        Assert.Equal(installed, h.IsNative);
        using var managed = new Xxh3(useNative: false);
        Assert.False(managed.IsNative);
    }

    [Fact]
    public void Both_give_xxHash3_of_the_bytes_in_any_pieces()
    {
        var rng = new Random(9);
        var data = new byte[(1 << 20) + 777];
        rng.NextBytes(data);
        // Lengths around XXH3's cases (0-3, 4-8, 9-16, 17-128, 129-240, longer: stripes, blocks, a partial block).
        int[] lengths = [0, 1, 3, 4, 8, 9, 16, 17, 64, 128, 129, 200, 240, 241, 1000, 1024, 1025, 65_536, 100_003, data.Length];
        using (var empty = new Xxh3()) Assert.Equal("2d06800538d394c2", empty.Hex); // XXH3_64bits of nothing, seed 0
        foreach (int length in lengths)
        {
            var bytes = data.AsSpan(0, length);
            ulong expected = XxHash3.HashToUInt64(bytes);
            foreach (bool native in new[] { true, false })
            {
                using var whole = new Xxh3(native);
                whole.Append(bytes);
                Assert.Equal(expected, whole.Digest());
                using var pieces = new Xxh3(native);
                for (int at = 0; at < length;)
                {
                    int n = Math.Min(length - at, rng.Next(0, 5000));
                    pieces.Append(bytes.Slice(at, n));
                    at += n;
                }
                Assert.Equal(expected, pieces.Digest());
                Assert.Equal(expected.ToString("x16"), pieces.Hex);
            }
        }
    }

    [Fact]
    public void A_file_checksum_is_the_hash_of_its_bytes()
    {
        using var t = new TempDir();
        var path = t["a [file].bin"];
        var bytes = new byte[3_000_001];
        new Random(4).NextBytes(bytes);
        File.WriteAllBytes(path, bytes);
        Assert.Equal(XxHash3.HashToUInt64(bytes).ToString("x16"), FileChecksum.Compute(path));
    }
}
