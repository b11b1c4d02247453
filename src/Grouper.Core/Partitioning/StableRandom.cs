using System.Buffers.Binary;
using System.IO.Hashing;
using System.Text;

namespace Grouper.Partitioning;

/// <summary>
/// Randomness that is the same on every machine and every run: values derive from xxHash3 (64-bit) of
/// the seed and a record's position or id, never from a shared generator's state, so the assignment of
/// a record does not depend on the order or the thread in which others were processed.
/// </summary>
public static class StableRandom
{
    /// <summary>
    /// The seed xxHash3 is given for a user's seed: the first output of SplitMix64 seeded with it, 0 kept as 0. xxHash3
    /// adds its seed to the input's bits (for inputs up to 16 bytes, to a constant it XORs into them), so seeds 1 and 2
    /// gave orders that were one another with each key's last bit flipped (u00 and u01 swapped places), and held-out
    /// sets alike: nearby seeds, the ones people try (an epoch's number, a fold's), must give unrelated draws. 0, the
    /// default, keeps the draws it always gave.
    /// </summary>
    public static long Seed(long seed) => seed == 0 ? 0 : unchecked((long)SplitMix64.Mix(unchecked((ulong)seed + SplitMix64.Gamma)));

    /// <summary>xxHash3-64 of <paramref name="data"/> with the seed <see cref="Seed"/> makes of <paramref name="seed"/>.</summary>
    public static ulong Hash(ReadOnlySpan<byte> data, long seed) => XxHash3.HashToUInt64(data, Seed(seed));

    public static ulong Hash(long value, long seed)
    {
        Span<byte> b = stackalloc byte[8];
        BinaryPrimitives.WriteInt64LittleEndian(b, value);
        return XxHash3.HashToUInt64(b, Seed(seed));
    }

    public static ulong Hash(string text, long seed)
    {
        int max = Encoding.UTF8.GetMaxByteCount(text.Length);
        Span<byte> b = max <= 512 ? stackalloc byte[max] : new byte[max];
        int n = Encoding.UTF8.GetBytes(text, b);
        return XxHash3.HashToUInt64(b[..n], Seed(seed));
    }

    /// <summary>A uniform double in [0, 1) from 53 bits of a hash.</summary>
    public static double Unit(ulong hash) => (hash >> 11) * (1.0 / (1UL << 53));

    /// <summary>A seed for a sub-stream (one label, one round) derived from a seed and a name.</summary>
    public static long Derive(long seed, string name) => unchecked((long)Hash(name, seed));
    public static long Derive(long seed, long n) => unchecked((long)Hash(n, seed));
}

/// <summary>SplitMix64: a tiny generator with a fully specified output, for draws that must not change across .NET versions.</summary>
public sealed class SplitMix64(long seed)
{
    private ulong _state = unchecked((ulong)seed);

    internal const ulong Gamma = 0x9E3779B97F4A7C15UL;

    public ulong NextUInt64() => Mix(_state += Gamma);

    /// <summary>SplitMix64's output function of a state.</summary>
    internal static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>Uniform in (0, 1): never 0, so logarithms are safe.</summary>
    public double NextDouble() => ((NextUInt64() >> 11) + 0.5) * (1.0 / (1UL << 53));

    public double NextNormal()
    {
        // Box–Muller: one of the pair is enough here.
        double u1 = NextDouble(), u2 = NextDouble();
        return Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
    }

    /// <summary>Gamma(shape, 1) by Marsaglia and Tsang; shapes below 1 use the boost Gamma(a+1)·U^(1/a).</summary>
    public double NextGamma(double shape)
    {
        if (shape <= 0) throw new ArgumentOutOfRangeException(nameof(shape));
        if (shape < 1) return NextGamma(shape + 1) * Math.Pow(NextDouble(), 1 / shape);
        double d = shape - 1.0 / 3, c = 1 / Math.Sqrt(9 * d);
        while (true)
        {
            double x, v;
            do { x = NextNormal(); v = 1 + c * x; } while (v <= 0);
            v = v * v * v;
            double u = NextDouble();
            if (u < 1 - 0.0331 * x * x * x * x || Math.Log(u) < 0.5 * x * x + d * (1 - v + Math.Log(v))) return d * v;
        }
    }

    /// <summary>A draw from the symmetric Dirichlet(alpha, …, alpha) of dimension <paramref name="k"/>.</summary>
    public double[] NextDirichlet(int k, double alpha)
    {
        var g = new double[k];
        double sum = 0;
        for (int i = 0; i < k; i++) sum += g[i] = NextGamma(alpha);
        if (sum == 0) { g[(int)(NextUInt64() % (ulong)k)] = 1; return g; } // tiny alpha underflows: all mass on one
        for (int i = 0; i < k; i++) g[i] /= sum;
        return g;
    }
}
