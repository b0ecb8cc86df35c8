/*
 * unicode.c - UTF-16 <-> UTF-8 for names and paths: Windows passes them as UTF-16 (WCHAR,
 * char16_t here), Linux wants UTF-8.  Unpaired surrogates and malformed UTF-8 are refused
 * rather than replaced, so two different names never become the same Linux name.
 */
#include "rtl.h"

bool wm_unicode_to_utf8(const WCHAR *w, size_t n, char *out, size_t outlen)
{
    size_t o = 0;

    for (size_t i = 0; i < n; i++) {
        uint32_t c = w[i];
        if (c >= 0xd800 && c < 0xdc00) { /* a surrogate pair */
            if (i + 1 >= n || w[i + 1] < 0xdc00 || w[i + 1] >= 0xe000)
                return false;
            c = 0x10000 + ((c - 0xd800) << 10) + (uint32_t)(w[i + 1] - 0xdc00);
            i++;
        } else if (c >= 0xdc00 && c < 0xe000) {
            return false;
        }
        unsigned char b[4];
        size_t len;
        if (c < 0x80) {
            b[0] = (unsigned char)c, len = 1;
        } else if (c < 0x800) {
            b[0] = (unsigned char)(0xc0 | c >> 6), b[1] = (unsigned char)(0x80 | (c & 0x3f));
            len = 2;
        } else if (c < 0x10000) {
            b[0] = (unsigned char)(0xe0 | c >> 12),
            b[1] = (unsigned char)(0x80 | ((c >> 6) & 0x3f));
            b[2] = (unsigned char)(0x80 | (c & 0x3f)), len = 3;
        } else {
            b[0] = (unsigned char)(0xf0 | c >> 18),
            b[1] = (unsigned char)(0x80 | ((c >> 12) & 0x3f));
            b[2] = (unsigned char)(0x80 | ((c >> 6) & 0x3f)),
            b[3] = (unsigned char)(0x80 | (c & 0x3f));
            len = 4;
        }
        if (o + len + 1 > outlen)
            return false;
        for (size_t k = 0; k < len; k++)
            out[o++] = (char)b[k];
    }
    out[o] = 0;
    return true;
}

long wm_unicode_from_utf8(const char *s, WCHAR *out, size_t outlen)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t o = 0;

    while (*p) {
        uint32_t c, min;
        int more;
        if (*p < 0x80)
            c = *p, more = 0, min = 0;
        else if ((*p & 0xe0) == 0xc0)
            c = *p & 0x1f, more = 1, min = 0x80;
        else if ((*p & 0xf0) == 0xe0)
            c = *p & 0x0f, more = 2, min = 0x800;
        else if ((*p & 0xf8) == 0xf0)
            c = *p & 0x07, more = 3, min = 0x10000;
        else
            return -1;
        p++;
        for (; more; more--, p++) {
            if ((*p & 0xc0) != 0x80)
                return -1;
            c = c << 6 | (*p & 0x3f);
        }
        /* Overlong forms, surrogates and values past U+10FFFF are not UTF-8. */
        if (c < min || (c >= 0xd800 && c < 0xe000) || c > 0x10ffff)
            return -1;
        if (c >= 0x10000) {
            if (o + 3 > outlen)
                return -1;
            c -= 0x10000;
            out[o++] = (WCHAR)(0xd800 + (c >> 10));
            out[o++] = (WCHAR)(0xdc00 + (c & 0x3ff));
        } else {
            if (o + 2 > outlen)
                return -1;
            out[o++] = (WCHAR)c;
        }
    }
    out[o] = 0;
    return (long)o;
}

size_t wm_unicode_len(const WCHAR *w)
{
    size_t n = 0;
    while (w[n])
        n++;
    return n;
}
