/*
 * libical_check -- validate one iCalendar file with libical (Debian's libical3).
 *
 * Usage: libical_check FILE.ics
 *
 * Parses FILE with icalparser_parse_string(), runs icalrestriction_check() on
 * every VCALENDAR (the iTIP restriction table is chosen by its METHOD), then
 * prints the text of every X-LIC-ERROR property found anywhere in the tree,
 * one per line on stdout (embedded newlines are replaced by spaces; a text
 * repeated within one component is printed once).
 * A one-line summary goes to stderr.
 *
 * Exit status: 0 no errors, 1 errors (or nothing parseable), 2 usage/IO error.
 *
 * Part of mentord's independent invite checkers (tests/ical/README.md).
 * Build: tests/ical/setup.sh  (cc libical_check.c $(pkg-config --cflags --libs libical))
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libical/ical.h>

static char *read_file(const char *path, size_t *len_out)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "libical_check: cannot open %s: %s\n", path, strerror(errno));
        return NULL;
    }
    size_t cap = 65536, len = 0;
    char *buf = malloc(cap + 1);
    if (!buf) {
        fclose(f);
        return NULL;
    }
    for (;;) {
        size_t n = fread(buf + len, 1, cap - len, f);
        len += n;
        if (len < cap) {
            if (ferror(f)) {
                fprintf(stderr, "libical_check: cannot read %s: %s\n", path, strerror(errno));
                free(buf);
                fclose(f);
                return NULL;
            }
            break;
        }
        cap *= 2;
        char *nb = realloc(buf, cap + 1);
        if (!nb) {
            free(buf);
            fclose(f);
            return NULL;
        }
        buf = nb;
    }
    fclose(f);
    buf[len] = '\0';
    *len_out = len;
    return buf;
}

static void print_error_text(const char *text)
{
    for (const char *p = text ? text : "(X-LIC-ERROR without text)"; *p; p++)
        putchar((*p == '\n' || *p == '\r') ? ' ' : *p);
    putchar('\n');
}

/* Print every X-LIC-ERROR in comp and its descendants; return how many lines
 * were printed.  icalrestriction_check() in libical 3.0 attaches the same
 * message many times to one component (once per row of its restriction
 * table), so identical texts within one component are printed once. */
static int print_errors(icalcomponent *comp)
{
    int n = 0;
    int nerr = icalcomponent_count_properties(comp, ICAL_XLICERROR_PROPERTY);
    const char **seen = nerr > 0 ? calloc((size_t)nerr, sizeof *seen) : NULL;
    int nseen = 0;
    for (icalproperty *p = icalcomponent_get_first_property(comp, ICAL_XLICERROR_PROPERTY); p;
         p = icalcomponent_get_next_property(comp, ICAL_XLICERROR_PROPERTY)) {
        const char *text = icalproperty_get_xlicerror(p);
        int dup = 0;
        for (int i = 0; i < nseen && !dup; i++)
            dup = (seen[i] == NULL && text == NULL) ||
                  (seen[i] && text && strcmp(seen[i], text) == 0);
        if (dup)
            continue;
        if (seen && nseen < nerr)
            seen[nseen++] = text;
        print_error_text(text);
        n++;
    }
    free(seen);
    /* Collect children first: the component iterators are per-parent state. */
    int nchild = icalcomponent_count_components(comp, ICAL_ANY_COMPONENT);
    if (nchild > 0) {
        icalcomponent **kids = calloc((size_t)nchild, sizeof *kids);
        int k = 0;
        for (icalcomponent *c = icalcomponent_get_first_component(comp, ICAL_ANY_COMPONENT);
             c && k < nchild; c = icalcomponent_get_next_component(comp, ICAL_ANY_COMPONENT))
            kids[k++] = c;
        for (int i = 0; i < k; i++)
            n += print_errors(kids[i]);
        free(kids);
    }
    return n;
}

int main(int argc, char **argv)
{
    if (argc != 2 || argv[1][0] == '-') {
        fprintf(stderr, "usage: %s FILE.ics\n", argc > 0 ? argv[0] : "libical_check");
        return 2;
    }
    size_t len = 0;
    char *data = read_file(argv[1], &len);
    if (!data)
        return 2;

    icalerror_set_errors_are_fatal(0);

    int extra = 0; /* problems we report ourselves (not X-LIC-ERROR) */
    if (strlen(data) != len) {
        printf("file contains a NUL byte at offset %zu; libical ignores everything after it\n",
               strlen(data));
        extra++;
    }

    icalcomponent *root = icalparser_parse_string(data);
    if (!root) {
        printf("libical could not parse any component from the file\n");
        fprintf(stderr, "libical_check: %s: 1 error(s)\n", argv[1]);
        free(data);
        return 1;
    }

    icalcomponent_kind kind = icalcomponent_isa(root);
    int ncal = 0;
    if (kind == ICAL_VCALENDAR_COMPONENT) {
        icalrestriction_check(root);
        ncal = 1;
    } else if (kind == ICAL_XROOT_COMPONENT) {
        /* Several top-level components were found. */
        for (icalcomponent *c = icalcomponent_get_first_component(root, ICAL_VCALENDAR_COMPONENT);
             c; c = icalcomponent_get_next_component(root, ICAL_VCALENDAR_COMPONENT)) {
            icalrestriction_check(c);
            ncal++;
        }
        if (ncal != 1) {
            printf("expected exactly one VCALENDAR, found %d\n", ncal);
            extra++;
        }
        if (icalcomponent_count_components(root, ICAL_ANY_COMPONENT) != ncal) {
            printf("top-level component other than VCALENDAR\n");
            extra++;
        }
    } else {
        printf("top-level component is %s, not VCALENDAR\n", icalcomponent_kind_to_string(kind));
        extra++;
    }

    int counted = icalcomponent_count_errors(root);
    int printed = print_errors(root);
    int total = counted + printed + extra; /* printed > 0 implies counted > 0 */

    fprintf(stderr, "libical_check: %s: %d error(s) (%d X-LIC-ERROR properties)\n", argv[1],
            printed + extra, counted);
    icalcomponent_free(root);
    free(data);
    return total == 0 ? 0 : 1;
}
