using Grouper.Util;
using Xunit;

namespace Grouper.Tests;

public class HashingStreamTests
{
    /// <summary>Records the size of every write it is handed.</summary>
    private sealed class Recording : MemoryStream
    {
        public readonly List<int> Writes = [];
        public override void Write(ReadOnlySpan<byte> buffer)
        {
            Writes.Add(buffer.Length);
            base.Write(buffer);
        }
    }

    /// <summary>
    /// A write larger than <see cref="FileWrites.MaxWrite"/> reaches the file in pieces no larger (large writes
    /// are cached in large blocks of memory, slow to come by on a virtual machine), and the file and its checksum are
    /// what one write of it gives.
    /// </summary>
    [Fact]
    public void Large_writes_reach_the_file_in_pieces_of_at_most_MaxWrite_with_the_same_bytes_and_checksum()
    {
        var data = new byte[3 * FileWrites.MaxWrite + 12345];
        new Random(4).NextBytes(data);
        var inner = new Recording();
        var hashing = new HashingWriteStream(inner);
        hashing.Write(data.AsSpan(0, 100));
        hashing.Write(data.AsSpan(100, FileWrites.MaxWrite));
        hashing.Write(data, 100 + FileWrites.MaxWrite, data.Length - 100 - FileWrites.MaxWrite);
        Assert.Equal(data, inner.ToArray());
        Assert.Equal(data.Length, hashing.Length);
        Assert.Equal([100, FileWrites.MaxWrite, FileWrites.MaxWrite, FileWrites.MaxWrite, 12345 - 100], inner.Writes);

        var whole = new HashingWriteStream(new MemoryStream());
        whole.Write(data);
        Assert.Equal(whole.Checksum, hashing.Checksum);
        var path = Path.GetTempFileName();
        try
        {
            File.WriteAllBytes(path, data);
            Assert.Equal(FileChecksum.Compute(path), hashing.Checksum);
        }
        finally { File.Delete(path); }
    }
}
