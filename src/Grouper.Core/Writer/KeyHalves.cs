using Grouper.Util;

namespace Grouper.Writer;

/// <summary>
/// A spill run's blocks: each one's first key, place in the file and the bytes of its records' keys and rows
/// (as the shards count them: a block stores a repeated key once) (<see cref="RunWriter.Index"/>). A block is
/// read on its own, so a reader may start at any of them.
/// </summary>
internal sealed record RunIndex(string Path, IReadOnlyList<byte[]> FirstKeys, IReadOnlyList<long> Offsets, IReadOnlyList<long> RecordBytes)
{
    /// <summary>The offset of the last block whose first key is below <paramref name="key"/> (0 when none is): records at <paramref name="key"/> and above are there or after.</summary>
    public long StartFor(ReadOnlySpan<byte> key)
    {
        int lo = 0, hi = FirstKeys.Count - 1, found = 0;
        while (lo <= hi)
        {
            int mid = (lo + hi) >>> 1;
            if (Bytes.Compare(FirstKeys[mid], key) < 0) { found = mid; lo = mid + 1; }
            else hi = mid - 1;
        }
        return FirstKeys.Count == 0 ? 0 : Offsets[found];
    }
}

/// <summary>
/// The writing phase in two halves by key, each merged and written on a thread of its own: the merging
/// thread, which decompresses the runs, merges them and decodes every row into the columns, was the
/// writing phase's bottleneck (92% busy in a 1 GB build, the other core a third idle). Every way of moving
/// part of its work to another thread had cost what it moved (the data produced on one core, read from its
/// cache on the other); halves by key share nothing but the runs' files.
/// </summary>
internal static class KeyHalves
{
    /// <summary>
    /// Where the first half should end, in bytes of <paramref name="total"/>: half of them, or, when a
    /// multiple of the shard size lies near half, just below it, so that the first half ends at a shard's end
    /// instead of with a small shard of its own (the halves of the 1 GB benchmark CSV 48% and 52% of its records).
    /// </summary>
    public static long Goal(long total, long shardTarget)
    {
        long half = total / 2;
        long k = (long)Math.Round((double)half / Math.Max(1, shardTarget));
        long boundary = k * shardTarget - shardTarget / 32; // the shards count bytes a little otherwise than the runs' samples
        return k >= 1 && Math.Abs(boundary - half) <= total * 3 / 20 ? boundary : half;
    }

    /// <summary>
    /// The key before which the first half ends: the largest key with at most <paramref name="goal"/> bytes of
    /// <paramref name="samples"/> (keys, each with the bytes of the records it stands for) below it, each half
    /// some of them; null when that cannot be (one key only). <paramref name="firstBytes"/>: the samples' bytes
    /// below it. Depends only on the samples, so the same input and budget split the same way.
    /// </summary>
    public static byte[]? SplitKey(List<(byte[] Key, long Bytes)> samples, long goal, out long firstBytes)
    {
        samples.Sort((a, b) => Bytes.Compare(a.Key, b.Key));
        long below = 0;
        byte[]? split = null;
        firstBytes = 0;
        for (int i = 0; i < samples.Count;)
        {
            // One key's samples together (a large group spans many blocks).
            int j = i;
            long bytes = 0;
            while (j < samples.Count && Bytes.Equal(samples[j].Key, samples[i].Key)) bytes += samples[j++].Bytes;
            if (below > 0)
            {
                // Past the goal: the key before is the split, or this one when the first key alone passed it.
                if (below > goal && split is not null) break;
                split = samples[i].Key;
                firstBytes = below;
                if (below > goal) break;
            }
            below += bytes;
            i = j;
        }
        return split;
    }
}

/// <summary>
/// The records in two halves by key (<see cref="ExternalSorter.SortedHalves"/>); <paramref name="FirstBytes"/>: about
/// how many bytes of records the first half has, by the samples the split was chosen from.
/// </summary>
internal sealed record Halves(RecordStream First, RecordStream Second, long FirstBytes);
