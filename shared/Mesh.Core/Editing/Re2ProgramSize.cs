using System.Text;

namespace Mesh.Core.Editing;

/// <summary>
/// Estimates the size of the program RE2 compiles a pattern to, which Envoy checks when it loads a route: above
/// <see cref="EnvoyErrorLevel"/> instructions (runtime key re2.max_program_size.error_level) the whole route table is
/// rejected. RE2 is not available to .NET, so this follows its compiler's arithmetic instead: one instruction per
/// literal byte, per byte range of a class (a class reaching beyond ASCII costs the UTF-8 sequences of the rest),
/// two per capturing group, one per loop and empty-width assertion, counted repeats expanded, the common literal
/// prefixes of consecutive alternatives factored out, plus the match and fail instructions and, for a pattern not
/// anchored at its start, the leading ".*?" loop. Set against sizes Envoy reported for real patterns, it lands
/// at or a little above them, so it errs towards refusing.
/// </summary>
public static class Re2ProgramSize
{
    public const int EnvoyErrorLevel = 100;

    /// <summary>RE2 refuses counted repeats above this.</summary>
    public const int MaxRepeat = 1000;

    /// <summary>UTF-8 sequences for every code point above ASCII, shared suffixes counted once.</summary>
    private const int NonAsciiTail = 9;

    /// <summary>The estimate, or null (with the reason) when the pattern is outside the syntax this follows.</summary>
    public static int? Estimate(string pattern, out string? unsupported)
    {
        try
        {
            var parser = new Parser(pattern);
            var root = parser.ParseAlternation(caseInsensitive: false, dotAll: false);
            if (!parser.AtEnd) throw new FormatException($"unexpected ')' at {parser.Position}");
            unsupported = null;
            var anchoredStart = pattern.StartsWith('^') || pattern.StartsWith("\\A", StringComparison.Ordinal);
            var anchoredEnd = pattern.EndsWith('$') && !pattern.EndsWith("\\$", StringComparison.Ordinal);
            // Leading ^ and trailing $ become the program's anchors rather than instructions; an unanchored start
            // costs the ".*?" loop; every program has a match and a fail instruction.
            return root.Cost - (anchoredStart ? 1 : 0) - (anchoredEnd ? 1 : 0) + 2 + (anchoredStart ? 0 : 2);
        }
        catch (FormatException e)
        {
            unsupported = e.Message;
            return null;
        }
    }

    private abstract record Node
    {
        public abstract int Cost { get; }
        /// <summary>The literal text this node starts with, for factoring alternatives (empty: none).</summary>
        public virtual string LeadingLiteral => "";
        public virtual Node WithoutLeading(int length) => this;
    }

    private sealed record Literal(string Text) : Node
    {
        public override int Cost => Encoding.UTF8.GetByteCount(Text);
        public override string LeadingLiteral => Text;
        public override Node WithoutLeading(int length) => new Literal(Text[length..]);
    }

    private sealed record Class(int Ranges) : Node
    {
        public override int Cost => Ranges;
    }

    private sealed record Fixed(int Instructions) : Node
    {
        public override int Cost => Instructions;
    }

    private sealed record Sequence(IReadOnlyList<Node> Items) : Node
    {
        public override int Cost => Items.Sum(i => i.Cost);
        public override string LeadingLiteral => Items.Count > 0 ? Items[0].LeadingLiteral : "";

        public override Node WithoutLeading(int length)
        {
            if (length == 0) return this;
            var first = Items[0].WithoutLeading(length);
            return new Sequence([.. Items.Skip(1).Prepend(first)]);
        }
    }

    private sealed record Alternation(IReadOnlyList<Node> Branches) : Node
    {
        public override int Cost => Factored(Branches);

        /// <summary>RE2 factors the longest literal prefix shared by a run of consecutive alternatives.</summary>
        private static int Factored(IReadOnlyList<Node> branches)
        {
            var cost = 0;
            var groups = 0;
            for (var i = 0; i < branches.Count; groups++)
            {
                var prefix = branches[i].LeadingLiteral;
                var end = i + 1;
                while (end < branches.Count && prefix.Length > 0)
                {
                    var shared = Shared(prefix, branches[end].LeadingLiteral);
                    if (shared == 0) break;
                    prefix = prefix[..shared];
                    end++;
                }
                if (end - i > 1)
                {
                    cost += Encoding.UTF8.GetByteCount(prefix) + Factored([.. branches.Skip(i).Take(end - i).Select(b => b.WithoutLeading(prefix.Length))]);
                }
                else
                {
                    cost += branches[i].Cost;
                }
                i = end;
            }
            return cost + groups - 1;
        }

        private static int Shared(string a, string b)
        {
            var n = 0;
            while (n < a.Length && n < b.Length && a[n] == b[n]) n++;
            return n;
        }
    }

    private sealed record Repeat(Node Item, int Min, int? Max) : Node
    {
        /// <summary>x* and x+ and x? cost one instruction over x; x{n,m} is n copies and m-n optional ones.</summary>
        public override int Cost => (Min, Max) switch
        {
            (0, null) or (1, null) or (0, 1) => Item.Cost + 1,
            (_, null) => (Min - 1) * Item.Cost + Item.Cost + 1,
            (_, { } max) => Min * Item.Cost + (max - Min) * (Item.Cost + 1),
        };
    }

    private sealed class Parser(string pattern)
    {
        private int _at;

        public bool AtEnd => _at >= pattern.Length;

        public int Position => _at;

        public Node ParseAlternation(bool caseInsensitive, bool dotAll)
        {
            var branches = new List<Node>();
            var flags = (caseInsensitive, dotAll);
            while (true)
            {
                branches.Add(ParseSequence(ref flags));
                if (AtEnd || pattern[_at] != '|') break;
                _at++;
            }
            return branches.Count == 1 ? branches[0] : new Alternation(branches);
        }

        private Node ParseSequence(ref (bool CaseInsensitive, bool DotAll) flags)
        {
            var items = new List<Node>();
            var literal = new StringBuilder();
            while (!AtEnd && pattern[_at] is not ('|' or ')'))
            {
                var atom = ParseAtom(ref flags);
                if (atom is null) continue;
                atom = ParseRepeat(atom);
                if (atom is Literal { Text.Length: 1 } single && !flags.CaseInsensitive)
                {
                    literal.Append(single.Text);
                    continue;
                }
                Flush();
                items.Add(atom);
            }
            Flush();
            return items.Count == 1 ? items[0] : new Sequence(items);

            void Flush()
            {
                if (literal.Length == 0) return;
                items.Add(new Literal(literal.ToString()));
                literal.Clear();
            }
        }

        private Node ParseRepeat(Node atom)
        {
            while (!AtEnd)
            {
                var c = pattern[_at];
                Node? repeated = c switch
                {
                    '*' => new Repeat(atom, 0, null),
                    '+' => new Repeat(atom, 1, null),
                    '?' => new Repeat(atom, 0, 1),
                    '{' => Counted(atom),
                    _ => null,
                };
                if (repeated is null) return atom;
                if (c != '{') _at++;
                if (!AtEnd && pattern[_at] == '?') _at++;   // lazy: same program
                atom = repeated;
            }
            return atom;
        }

        private Repeat? Counted(Node atom)
        {
            var close = pattern.IndexOf('}', _at);
            if (close < 0) return null;
            var body = pattern[(_at + 1)..close].Split(',');
            if (body.Length > 2 || !int.TryParse(body[0], out var min)) return null;
            int? max = body.Length == 1 ? min : body[1].Length == 0 ? null : int.TryParse(body[1], out var m) ? m : -1;
            if (max == -1) return null;
            if (min > MaxRepeat || max > MaxRepeat) throw new FormatException($"a counted repeat above {MaxRepeat}, which RE2 refuses");
            _at = close + 1;
            return new Repeat(atom, min, max);
        }

        private Node? ParseAtom(ref (bool CaseInsensitive, bool DotAll) flags)
        {
            var c = pattern[_at++];
            switch (c)
            {
                case '(':
                    return ParseGroup(ref flags);
                case '[':
                    return ParseClass(flags.CaseInsensitive);
                case '.':
                    return new Class(flags.DotAll ? 1 + NonAsciiTail : 2 + NonAsciiTail);
                case '^' or '$':
                    return new Fixed(1);
                case '\\':
                    return ParseEscape(flags.CaseInsensitive);
                default:
                    return Letter(c, flags.CaseInsensitive);
            }
        }

        private static Node Letter(char c, bool caseInsensitive) =>
            caseInsensitive && char.IsAsciiLetter(c) ? new Class(1) : new Literal(c.ToString());

        private Node? ParseGroup(ref (bool CaseInsensitive, bool DotAll) flags)
        {
            var capturing = true;
            var inner = flags;
            if (!AtEnd && pattern[_at] == '?')
            {
                _at++;
                if (pattern.AsSpan(_at).StartsWith("P<") || pattern.AsSpan(_at).StartsWith("<"))
                {
                    _at = pattern.IndexOf('>', _at) + 1;
                    if (_at == 0) throw new FormatException("an unterminated group name");
                }
                else
                {
                    var on = true;
                    while (!AtEnd && pattern[_at] is not (':' or ')'))
                    {
                        switch (pattern[_at++])
                        {
                            case '-': on = false; break;
                            case 'i': inner.CaseInsensitive = on; break;
                            case 's': inner.DotAll = on; break;
                            case 'm' or 'U': break;
                            default: throw new FormatException($"the group flag at {_at - 1}");
                        }
                    }
                    if (AtEnd) throw new FormatException("an unterminated group");
                    if (pattern[_at++] == ')')
                    {
                        flags = inner;   // (?i) applies to the rest of the enclosing group
                        return null;
                    }
                    capturing = false;
                }
            }
            var body = ParseAlternation(inner.CaseInsensitive, inner.DotAll);
            if (AtEnd || pattern[_at] != ')') throw new FormatException("an unterminated group");
            _at++;
            return capturing ? new Sequence([new Fixed(1), body, new Fixed(1)]) : body;
        }

        private Node ParseEscape(bool caseInsensitive)
        {
            if (AtEnd) throw new FormatException("a trailing backslash");
            var c = pattern[_at++];
            return c switch
            {
                'd' => new Class(1),
                'w' => new Class(4),
                's' => new Class(3),
                'D' => new Class(2 + NonAsciiTail),
                'W' => new Class(5 + NonAsciiTail),
                'S' => new Class(4 + NonAsciiTail),
                'b' or 'B' or 'A' or 'z' => new Fixed(1),
                'p' or 'P' => UnicodeClass(),
                'x' => HexLiteral(caseInsensitive),
                'n' => new Literal("\n"),
                't' => new Literal("\t"),
                'r' => new Literal("\r"),
                'f' => new Literal("\f"),
                'v' => new Literal("\v"),
                'a' => new Literal("\a"),
                _ when char.IsAsciiLetterOrDigit(c) => throw new FormatException($"the escape \\{c}"),
                _ => Letter(c, caseInsensitive),
            };
        }

        /// <summary>A Unicode class spans many UTF-8 sequences: counted as a large class.</summary>
        private Class UnicodeClass()
        {
            if (!AtEnd && pattern[_at] == '{')
            {
                var close = pattern.IndexOf('}', _at);
                if (close < 0) throw new FormatException("an unterminated \\p{...}");
                _at = close + 1;
            }
            else
            {
                _at++;
            }
            return new Class(4 * NonAsciiTail);
        }

        private Node HexLiteral(bool caseInsensitive)
        {
            int value;
            if (!AtEnd && pattern[_at] == '{')
            {
                var close = pattern.IndexOf('}', _at);
                if (close < 0 || !int.TryParse(pattern.AsSpan(_at + 1, close - _at - 1), System.Globalization.NumberStyles.HexNumber, null, out value))
                    throw new FormatException("a bad \\x{...}");
                _at = close + 1;
            }
            else
            {
                if (_at + 2 > pattern.Length || !int.TryParse(pattern.AsSpan(_at, 2), System.Globalization.NumberStyles.HexNumber, null, out value))
                    throw new FormatException("a bad \\x escape");
                _at += 2;
            }
            return value is < 0 or > 0x10FFFF ? throw new FormatException("a code point out of range") : Letter((char)Math.Min(value, 0xFFFF), caseInsensitive);
        }

        /// <summary>A class costs one instruction per ASCII range (letters twice when case is ignored) and the UTF-8 sequences of what lies beyond ASCII.</summary>
        private Class ParseClass(bool caseInsensitive)
        {
            var negated = !AtEnd && pattern[_at] == '^';
            if (negated) _at++;
            var ascii = new bool[128];
            var beyondAscii = false;
            var first = true;
            while (!AtEnd && (pattern[_at] != ']' || first))
            {
                first = false;
                if (pattern.AsSpan(_at).StartsWith("[:"))
                {
                    var close = pattern.IndexOf(":]", _at, StringComparison.Ordinal);
                    if (close < 0) throw new FormatException("an unterminated [:class:]");
                    foreach (var ch in PosixClass(pattern[(_at + 2)..close])) ascii[ch] = true;
                    _at = close + 2;
                    continue;
                }
                var low = ClassChar(ascii, ref beyondAscii);
                if (low is null) continue;
                var high = low.Value;
                if (_at + 1 < pattern.Length && pattern[_at] == '-' && pattern[_at + 1] != ']')
                {
                    _at++;
                    high = ClassChar(ascii, ref beyondAscii) ?? throw new FormatException("a class range ending in a class");
                    if (high < low) throw new FormatException("a class range out of order");
                }
                for (var ch = low.Value; ch <= high; ch++)
                {
                    if (ch < 128) ascii[ch] = true;
                    else beyondAscii = true;
                }
            }
            if (AtEnd) throw new FormatException("an unterminated class");
            _at++;
            if (caseInsensitive)
            {
                for (var ch = 'a'; ch <= 'z'; ch++)
                {
                    if (ascii[ch] || ascii[char.ToUpperInvariant(ch)]) ascii[ch] = ascii[char.ToUpperInvariant(ch)] = true;
                }
            }
            if (negated)
            {
                for (var i = 0; i < 128; i++) ascii[i] = !ascii[i];
                beyondAscii = true;
            }
            var ranges = 0;
            for (var i = 0; i < 128; i++)
            {
                if (ascii[i] && (i == 0 || !ascii[i - 1])) ranges++;
            }
            return new Class(Math.Max(1, ranges) + (beyondAscii ? NonAsciiTail : 0));
        }

        /// <summary>One character of a class, or null when it was a class escape (\d, \w, \s) already added.</summary>
        private int? ClassChar(bool[] ascii, ref bool beyondAscii)
        {
            var c = pattern[_at++];
            if (c != '\\') return c;
            if (AtEnd) throw new FormatException("a trailing backslash");
            var e = pattern[_at++];
            string? members = e switch
            {
                'd' => "0123456789",
                'w' => "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz",
                's' => "\t\n\f\r ",
                _ => null,
            };
            if (members is not null)
            {
                foreach (var ch in members) ascii[ch] = true;
                return null;
            }
            if (e is 'D' or 'W' or 'S' or 'p' or 'P')
            {
                beyondAscii = true;
                if (e is 'p' or 'P' && !AtEnd && pattern[_at] == '{') _at = pattern.IndexOf('}', _at) + 1;
                else if (e is 'p' or 'P') _at++;
                for (var i = 0; i < 128; i++) ascii[i] = true;
                return null;
            }
            return e switch
            {
                'n' => '\n',
                't' => '\t',
                'r' => '\r',
                'f' => '\f',
                'v' => '\v',
                _ when char.IsAsciiLetterOrDigit(e) => throw new FormatException($"the class escape \\{e}"),
                _ => e,
            };
        }

        private static string PosixClass(string name) => name switch
        {
            "alnum" => "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
            "alpha" => "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
            "digit" => "0123456789",
            "lower" => "abcdefghijklmnopqrstuvwxyz",
            "upper" => "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
            "space" => "\t\n\v\f\r ",
            "xdigit" => "0123456789ABCDEFabcdef",
            "punct" => "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~",
            "word" => "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz",
            _ => throw new FormatException($"the class [:{name}:]"),
        };
    }
}
