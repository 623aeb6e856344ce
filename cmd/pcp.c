/*
 * pcp.c - the subcommand table and dispatch. Usage text comes from the same
 * table, so help can never drift from what exists.
 */
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "cmd.h"
#include "code.h"
#include "dht.h"
#include "portmap.h"
#include "transfer.h"

static const struct {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *what;
} subcommands[] = {
    {"send", cmd_send, "Send files or directories; prints a code for the receiver"},
    {"receive", cmd_receive, "Receive with the code the sender printed"},
    {"relay", cmd_relay, "Run a rendezvous server and relay for senders and receivers"},
};

static void usage(FILE *f)
{
    fprintf(f, "Usage: pcp <command> [options]\n\n"
               "Move files between computers with a four-word code, end-to-end encrypted.\n\n"
               "Commands:\n");
    for (size_t i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++)
        fprintf(f, "  %-9s %s\n", subcommands[i].name, subcommands[i].what);
    fprintf(f, "\nRun 'pcp <command> --help' for a command's options.\n");
}

/* `pcp complete-code PARTIAL`, for the shell completions: every code
 * that PARTIAL's last word can become, one per line ("bubble-ene" ->
 * "bubble-enemy"); nothing once the code has its most words. */
static int complete_code(const char *partial)
{
    const char *last = strrchr(partial, '-');
    size_t keep = last ? (size_t)(last - partial) + 1 : 0, words = 1;
    for (const char *p = partial; *p; p++)
        words += *p == '-';
    if (words > CODE_MAX_WORDS)
        return EXIT_OK;
    const char *stem = partial + keep;
    size_t sl = strlen(stem);
    for (unsigned i = 0; i < CODE_WORDS; i++) {
        const char *w = code_word(i);
        if (!strncasecmp(w, stem, sl))
            printf("%.*s%s\n", (int)keep, partial, w);
    }
    return EXIT_OK;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return EXIT_OK;
    }
    if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version")) {
        printf("pcp %s\nport mapping: %s\ncompression: zlib%s\nDHT: %s\nQR codes: %s\n",
               PCP_VERSION,
               portmap_backends()[0] ? portmap_backends()
                                     : "none (built without miniupnpc and libnatpmp)",
               xfer_have_zstd() ? ", zstd" : " (built without libzstd)",
               dht_version_text() ? dht_version_text() : "none (built without OpenDHT)",
               ui_qr_version() ? ui_qr_version() : "none (built without libqrencode)");
        if (dht_version_text())
            printf("This binary includes OpenDHT (GPL-3.0-or-later) and is distributed under "
                   "the GPL-3.0-or-later.\n");
        return EXIT_OK;
    }
    if (!strcmp(argv[1], "complete-code"))
        return complete_code(argc > 2 ? argv[2] : "");
    if (sodium_init() < 0) {
        fprintf(stderr, "pcp: libsodium failed to initialise\n");
        return EXIT_ERROR;
    }
    /* "pcp recv" and "pcp r" work too: any unique prefix. */
    size_t n = strlen(argv[1]), hit = 0, hits = 0;
    for (size_t i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++) {
        if (!strncmp(subcommands[i].name, argv[1], n)) {
            hit = i;
            hits++;
        }
    }
    if (hits != 1) {
        fprintf(stderr, "pcp: unknown command '%s'\n\n", argv[1]);
        usage(stderr);
        return EXIT_USAGE;
    }
    return subcommands[hit].fn(argc - 1, argv + 1);
}
