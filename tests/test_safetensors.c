/* test_safetensors.c — checkpoints: round trips, every kind of damage, the
 * parameter-store helpers, and an independent reader (Python's json + struct)
 * that proves the files are standard safetensors. */
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <xxhash.h>

#include "core/alloc.h"
#include "core/fsutil.h"
#include "core/params.h"
#include "core/safetensors.h"
#include "tests/util/fixture.h"

static char dir[64];

static void setup(void) {
    strcpy(dir, "/tmp/mg_st_XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
}

static void teardown(void) { mg_test_rmdir_flat(dir); }

TestSuite(safetensors, .init = setup, .fini = teardown);

static const char *path_in(const char *name) {
    static char p[4][256];
    static int k;
    k = (k + 1) % 4;
    snprintf(p[k], sizeof p[k], "%s/%s", dir, name);
    return p[k];
}

/* embed (3, 4), bias (5), scale () with values exact in binary. */
static float embed[12], bias[5], scale[1] = {-2.5f};

static void write_sample(const char *path) {
    for (int i = 0; i < 12; i++) embed[i] = 0.25f * (float)i - 1.0f;
    for (int i = 0; i < 5; i++) bias[i] = 100.0f + (float)i;
    mg_st_writer *w = mg_st_writer_new();
    cr_assert_not_null(w);
    cr_assert_eq(mg_st_add_f32(w, "embed", 2, (int64_t[]){3, 4}, embed), MG_OK, "%s", mg_errmsg());
    cr_assert_eq(mg_st_add_f32(w, "bias", 1, (int64_t[]){5}, bias), MG_OK, "%s", mg_errmsg());
    cr_assert_eq(mg_st_add_f32(w, "scale", 0, NULL, scale), MG_OK, "%s", mg_errmsg());
    cr_assert_eq(mg_st_add_meta(w, "step", "100"), MG_OK, "%s", mg_errmsg());
    cr_assert_eq(mg_st_save(w, path), MG_OK, "%s", mg_errmsg());
    mg_st_writer_free(w);
}

static void read_bytes(const char *path, char **buf, size_t *n) {
    cr_assert_eq(mg_read_file(path, buf, n), MG_OK, "%s", mg_errmsg());
}

static void write_bytes(const char *path, const void *buf, size_t n) {
    FILE *fp = fopen(path, "wb");
    cr_assert_not_null(fp);
    cr_assert_eq(fwrite(buf, 1, n, fp), n);
    fclose(fp);
}

/* Loads path expecting failure; the message must contain every needle. */
static void expect_fail(const char *path, mg_status want, const char *n1, const char *n2) {
    mg_st_file *f = (mg_st_file *)1;
    mg_status s = mg_st_load(path, &f);
    cr_assert_eq(s, want, "status %d, message: %s", s, mg_errmsg());
    cr_assert_null(f);
    cr_assert(strstr(mg_errmsg(), path), "message does not name the file: %s", mg_errmsg());
    cr_assert(strstr(mg_errmsg(), n1), "message lacks '%s': %s", n1, mg_errmsg());
    if (n2) cr_assert(strstr(mg_errmsg(), n2), "message lacks '%s': %s", n2, mg_errmsg());
}

Test(safetensors, round_trip) {
    const char *p = path_in("a.safetensors");
    write_sample(p);
    mg_st_file *f;
    cr_assert_eq(mg_st_load(p, &f), MG_OK, "%s", mg_errmsg());
    cr_assert_eq(mg_st_count(f), 3);
    cr_assert_str_eq(mg_st_name(f, 0), "embed");
    int i = mg_st_find(f, "embed"), nd;
    int64_t sh[MG_ST_MAX_DIMS];
    mg_st_shape(f, i, &nd, sh);
    cr_assert(nd == 2 && sh[0] == 3 && sh[1] == 4);
    cr_assert_eq(mg_st_numel(f, i), 12);
    cr_assert_eq(memcmp(mg_st_data(f, i), embed, sizeof embed), 0);
    i = mg_st_find(f, "bias");
    mg_st_shape(f, i, &nd, sh);
    cr_assert(nd == 1 && sh[0] == 5);
    cr_assert_eq(memcmp(mg_st_data(f, i), bias, sizeof bias), 0);
    i = mg_st_find(f, "scale");
    mg_st_shape(f, i, &nd, sh);
    cr_assert(nd == 0 && mg_st_numel(f, i) == 1 && mg_st_data(f, i)[0] == -2.5f);
    cr_assert_eq(mg_st_find(f, "nope"), -1);
    cr_assert_str_eq(mg_st_meta(f, "step"), "100");
    cr_assert_eq(strlen(mg_st_meta(f, "xxh3:embed")), 16);
    cr_assert_null(mg_st_meta(f, "absent"));
    cr_assert_str_eq(mg_st_path(f), p);
    mg_st_free(f);
}

Test(safetensors, no_temporary_left_behind) {
    write_sample(path_in("a.safetensors"));
    write_sample(path_in("a.safetensors")); /* overwrite: still one file */
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.') {
            cr_assert_str_eq(e->d_name, "a.safetensors", "stray file %s", e->d_name);
            n++;
        }
    closedir(d);
    cr_assert_eq(n, 1);
}

Test(safetensors, save_into_missing_dir_fails_cleanly) {
    mg_st_writer *w = mg_st_writer_new();
    cr_assert_eq(mg_st_add_f32(w, "bias", 1, (int64_t[]){5}, bias), MG_OK);
    const char *p = path_in("no/such/dir/x.safetensors");
    cr_assert_eq(mg_st_save(w, p), MG_ERR_IO);
    cr_assert(strstr(mg_errmsg(), p), "%s", mg_errmsg());
    mg_st_writer_free(w);
}

Test(safetensors, writer_rejects_bad_input) {
    mg_st_writer *w = mg_st_writer_new();
    cr_assert_eq(mg_st_add_f32(w, "a", 1, (int64_t[]){5}, bias), MG_OK);
    cr_assert_eq(mg_st_add_f32(w, "a", 1, (int64_t[]){5}, bias), MG_ERR_ARG);
    cr_assert(strstr(mg_errmsg(), "'a'"), "%s", mg_errmsg());
    cr_assert_eq(mg_st_add_f32(w, "__metadata__", 1, (int64_t[]){5}, bias), MG_ERR_ARG);
    cr_assert_eq(mg_st_add_f32(w, "b", 1, (int64_t[]){-1}, bias), MG_ERR_SHAPE);
    cr_assert_eq(mg_st_add_meta(w, "xxh3:a", "0"), MG_ERR_ARG);
    cr_assert_eq(mg_st_add_meta(w, "k", "v"), MG_OK);
    cr_assert_eq(mg_st_add_meta(w, "k", "v"), MG_ERR_ARG);
    mg_st_writer_free(w);
}

Test(safetensors, missing_file_names_the_path) {
    expect_fail(path_in("absent.safetensors"), MG_ERR_IO, "No such file", NULL);
}

static uint64_t header_len(const char *buf) {
    uint64_t h = 0;
    for (int i = 0; i < 8; i++) h |= (uint64_t)(unsigned char)buf[i] << (8 * i);
    return h;
}

Test(safetensors, truncated_in_header) {
    const char *p = path_in("a.safetensors"), *q = path_in("cut.safetensors");
    write_sample(p);
    char *buf;
    size_t n;
    read_bytes(p, &buf, &n);
    write_bytes(q, buf, 8 + 20);
    expect_fail(q, MG_ERR_FORMAT, "truncated", NULL);
    write_bytes(q, buf, 5);
    expect_fail(q, MG_ERR_FORMAT, "truncated", NULL);
    mg_free(buf);
}

Test(safetensors, truncated_in_data) {
    const char *p = path_in("a.safetensors"), *q = path_in("cut.safetensors");
    write_sample(p);
    char *buf;
    size_t n;
    read_bytes(p, &buf, &n);
    write_bytes(q, buf, n - 10);
    expect_fail(q, MG_ERR_FORMAT, "truncated", "bytes of data");
    /* Cut right after the header: no data at all. */
    write_bytes(q, buf, 8 + header_len(buf));
    expect_fail(q, MG_ERR_FORMAT, "truncated", NULL);
    mg_free(buf);
}

Test(safetensors, flipped_byte_is_a_checksum_error_naming_the_tensor) {
    const char *p = path_in("a.safetensors");
    write_sample(p);
    char *buf;
    size_t n;
    read_bytes(p, &buf, &n);
    /* embed was added first, so its bytes open the data section. */
    buf[8 + header_len(buf) + 5] ^= 0x10;
    write_bytes(p, buf, n);
    expect_fail(p, MG_ERR_FORMAT, "tensor 'embed' checksum mismatch", "stored");
    mg_free(buf);
}

/* Writes a hand-made file: header JSON (unpadded) then data bytes. */
static void write_raw(const char *path, const char *json, const void *data, size_t ndata) {
    size_t h = strlen(json);
    char *buf = malloc(8 + h + ndata + 1);
    for (int i = 0; i < 8; i++) buf[i] = (char)((uint64_t)h >> (8 * i));
    memcpy(buf + 8, json, h);
    if (ndata) memcpy(buf + 8 + h, data, ndata);
    write_bytes(path, buf, 8 + h + ndata);
    free(buf);
}

Test(safetensors, malformed_headers) {
    const char *p = path_in("bad.safetensors");
    char zeros[64] = {0};
    write_raw(p, "{\"ids\":{\"dtype\":\"I64\",\"shape\":[2],\"data_offsets\":[0,16]}}", zeros, 16);
    expect_fail(p, MG_ERR_FORMAT, "tensor 'ids'", "I64");
    write_raw(p, "{\"w\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", zeros, 8);
    expect_fail(p, MG_ERR_FORMAT, "tensor 'w'", "(3)");
    write_raw(p,
              "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
              "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}",
              zeros, 12);
    expect_fail(p, MG_ERR_FORMAT, "overlap", "'b'");
    write_raw(p, "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}", zeros, 8);
    expect_fail(p, MG_ERR_FORMAT, "JSON", NULL);
    write_raw(p, "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", zeros, 12);
    expect_fail(p, MG_ERR_FORMAT, "follow the last tensor", NULL);
    write_raw(p,
              "{\"__metadata__\":{\"xxh3:gone\":\"0123456789abcdef\"},"
              "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}",
              zeros, 8);
    expect_fail(p, MG_ERR_FORMAT, "'gone'", NULL);
    const char junk[16] = "\xff\xff\xff\xff\xff\xff\xff\x7fhello";
    write_bytes(p, junk, sizeof junk);
    expect_fail(p, MG_ERR_FORMAT, "not a safetensors file", NULL);
}

/* A foreign file with an odd header length: the floats are misaligned in the
 * file and must still come out right. No checksums: mg_st_load_foreign
 * takes it, mg_st_load (a modgrad checkpoint) does not. */
Test(safetensors, foreign_file_misaligned) {
    const char *p = path_in("odd.safetensors");
    float v[3] = {1.5f, -2.0f, 3.25f};
    write_raw(p, "{\"v\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,12]}} ", v, 12);
    expect_fail(p, MG_ERR_FORMAT, "tensor 'v' has no checksum", NULL);
    mg_st_file *f;
    cr_assert_eq(mg_st_load_foreign(p, &f), MG_OK, "%s", mg_errmsg());
    cr_assert_eq(memcmp(mg_st_data(f, 0), v, sizeof v), 0);
    mg_st_free(f);
}

/* ---- parameter-store helpers --------------------------------------------- */

static mg_params *make_store(int64_t hidden_cols) {
    mg_params *p = mg_params_new();
    int idx;
    cr_assert_eq(mg_params_declare(p, "embed", MG_NORMAL(1), 2, (int64_t[]){7, 3}, &idx), MG_OK);
    cr_assert_eq(
        mg_params_declare(p, "hidden.w", MG_NORMAL(1), 2, (int64_t[]){6, hidden_cols}, &idx),
        MG_OK);
    cr_assert_eq(mg_params_declare(p, "hidden.b", MG_NORMAL(1), 1, (int64_t[]){hidden_cols}, &idx),
                 MG_OK);
    cr_assert_eq(mg_params_alloc(p), MG_OK, "%s", mg_errmsg());
    mg_rng r;
    mg_rng_seed(&r, 42);
    mg_params_init(p, &r);
    return p;
}

Test(safetensors, store_round_trip_with_prefix) {
    mg_params *a = make_store(4);
    size_t total = mg_params_total(a);
    float *moment = malloc(total * sizeof *moment);
    for (size_t i = 0; i < total; i++) moment[i] = (float)i * 0.5f;
    mg_st_writer *w = mg_st_writer_new();
    cr_assert_eq(mg_st_add_params(w, a, ""), MG_OK, "%s", mg_errmsg());
    cr_assert_eq(mg_st_add_store(w, a, "adam.m.", moment), MG_OK, "%s", mg_errmsg());
    const char *p = path_in("ck.safetensors");
    cr_assert_eq(mg_st_save(w, p), MG_OK, "%s", mg_errmsg());
    mg_st_writer_free(w);

    mg_params *b = make_store(4);
    float *m2 = calloc(total, sizeof *m2);
    mg_st_file *f;
    cr_assert_eq(mg_st_load(p, &f), MG_OK, "%s", mg_errmsg());
    cr_assert_eq(mg_st_count(f), 6);
    cr_assert_geq(mg_st_find(f, "adam.m.hidden.w"), 0);
    cr_assert_eq(mg_st_read_store(f, b, "", mg_params_data(b)), MG_OK, "%s", mg_errmsg());
    cr_assert_eq(mg_st_read_store(f, b, "adam.m.", m2), MG_OK, "%s", mg_errmsg());
    cr_assert_eq(memcmp(mg_params_data(a), mg_params_data(b), total * sizeof(float)), 0);
    cr_assert_eq(memcmp(moment, m2, total * sizeof(float)), 0);
    mg_st_free(f);
    free(moment);
    free(m2);
    mg_params_free(a);
    mg_params_free(b);
}

Test(safetensors, shape_mismatch_names_tensor_and_leaves_base_untouched) {
    mg_params *a = make_store(5), *b = make_store(4);
    const char *p = path_in("ck.safetensors");
    mg_st_writer *w = mg_st_writer_new();
    cr_assert_eq(mg_st_add_params(w, a, ""), MG_OK, "%s", mg_errmsg());
    cr_assert_eq(mg_st_save(w, p), MG_OK, "%s", mg_errmsg());
    mg_st_writer_free(w);

    size_t total = mg_params_total(b);
    float *before = malloc(total * sizeof *before);
    memcpy(before, mg_params_data(b), total * sizeof *before);
    mg_st_file *f;
    cr_assert_eq(mg_st_load(p, &f), MG_OK, "%s", mg_errmsg());
    cr_assert_eq(mg_st_read_store(f, b, "", mg_params_data(b)), MG_ERR_SHAPE);
    const char *msg = mg_errmsg();
    cr_assert(strstr(msg, "tensor 'hidden.w' has shape (6, 5) in the checkpoint but (6, 4) in the "
                          "model"),
              "%s", msg);
    cr_assert(strstr(msg, p), "%s", msg);
    /* embed matched and comes first: it must not have been copied either. */
    cr_assert_eq(memcmp(before, mg_params_data(b), total * sizeof *before), 0);
    /* A prefix the file does not have: missing tensor, named. */
    cr_assert_eq(mg_st_read_store(f, b, "adam.m.", mg_params_data(b)), MG_ERR_SHAPE);
    cr_assert(strstr(mg_errmsg(), "no tensor 'adam.m.embed'"), "%s", mg_errmsg());
    cr_assert_eq(memcmp(before, mg_params_data(b), total * sizeof *before), 0);
    mg_st_free(f);
    free(before);
    mg_params_free(a);
    mg_params_free(b);
}

/* ---- an independent reader ------------------------------------------------ */

/* Runs python3 on script with args; returns its exit status, output in out. */
static int run_python(const char *script, const char *arg, char *out, size_t cap) {
    const char *sp = path_in("check.py");
    write_bytes(sp, script, strlen(script));
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 '%s' '%s' 2>&1", sp, arg);
    FILE *fp = popen(cmd, "r");
    cr_assert_not_null(fp);
    size_t n = fread(out, 1, cap - 1, fp);
    out[n] = '\0';
    int st = pclose(fp);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static const char *py_reader = "import json, struct, sys\n"
                               "raw = open(sys.argv[1], 'rb').read()\n"
                               "(n,) = struct.unpack('<Q', raw[:8])\n"
                               "hdr = json.loads(raw[8:8 + n].decode('utf-8'))\n"
                               "data = raw[8 + n:]\n"
                               "assert (8 + n) % 8 == 0, 'data section not 8-byte aligned'\n"
                               "meta = hdr.pop('__metadata__')\n"
                               "assert meta['step'] == '100', meta\n"
                               "want = {'embed': ([3, 4], [0.25 * i - 1.0 for i in range(12)]),\n"
                               "        'bias': ([5], [100.0 + i for i in range(5)]),\n"
                               "        'scale': ([], [-2.5])}\n"
                               "assert sorted(hdr) == sorted(want), sorted(hdr)\n"
                               "end = 0\n"
                               "for name, (shape, vals) in want.items():\n"
                               "    t = hdr[name]\n"
                               "    assert t['dtype'] == 'F32', t\n"
                               "    assert t['shape'] == shape, (name, t['shape'])\n"
                               "    b, e = t['data_offsets']\n"
                               "    got = list(struct.unpack('<%df' % len(vals), data[b:e]))\n"
                               "    assert got == vals, (name, got, vals)\n"
                               "    assert len(meta['xxh3:' + name]) == 16\n"
                               "    end = max(end, e)\n"
                               "assert end == len(data), (end, len(data))\n"
                               "print('ok')\n";

Test(safetensors, python_json_struct_reads_our_file) {
    const char *p = path_in("a.safetensors");
    write_sample(p);
    char out[4096];
    int rc = run_python(py_reader, p, out, sizeof out);
    cr_assert_eq(rc, 0, "python reader failed (exit %d):\n%s", rc, out);
    cr_assert(strstr(out, "ok"), "%s", out);
}

static const char *py_writer =
    "import json, struct, sys\n"
    "vals = [0.5 * i - 7 for i in range(20)]\n"
    "hdr = {'__metadata__': {'by': 'python'},\n"
    "       'm': {'dtype': 'F32', 'shape': [4, 5], 'data_offsets': [0, 80]}}\n"
    "h = json.dumps(hdr).encode()\n"
    "open(sys.argv[1], 'wb').write(struct.pack('<Q', len(h)) + h + struct.pack('<20f', *vals))\n";

Test(safetensors, we_read_a_python_written_file) {
    const char *p = path_in("py.safetensors");
    char out[4096];
    int rc = run_python(py_writer, p, out, sizeof out);
    cr_assert_eq(rc, 0, "python writer failed (exit %d):\n%s", rc, out);
    mg_st_file *f;
    cr_assert_eq(mg_st_load_foreign(p, &f), MG_OK, "%s", mg_errmsg());
    cr_assert_str_eq(mg_st_meta(f, "by"), "python");
    int nd;
    int64_t sh[MG_ST_MAX_DIMS];
    mg_st_shape(f, 0, &nd, sh);
    cr_assert(nd == 2 && sh[0] == 4 && sh[1] == 5);
    for (int i = 0; i < 20; i++) cr_assert_eq(mg_st_data(f, 0)[i], 0.5f * (float)i - 7.0f);
    mg_st_free(f);
}

/* ---- issue 12, row 13: checksums required, one meaning per key, tiling ---- */

/* Rewrites path's header with edit(root) applied, keeping the data bytes. */
static void edit_header(const char *path, void (*edit)(cJSON *root, void *ctx), void *ctx) {
    char *buf;
    size_t n;
    read_bytes(path, &buf, &n);
    uint64_t h = header_len(buf);
    cJSON *root = cJSON_ParseWithLength(buf + 8, h);
    cr_assert_not_null(root);
    edit(root, ctx);
    char *json = cJSON_PrintUnformatted(root);
    write_raw(path, json, buf + 8 + h, n - 8 - h);
    cJSON_free(json);
    cJSON_Delete(root);
    mg_free(buf);
}

static void drop_meta(cJSON *root, void *key) {
    cJSON_DeleteItemFromObjectCaseSensitive(cJSON_GetObjectItem(root, "__metadata__"), key);
}

static void drop_all_checksums(cJSON *root, void *unused) {
    (void)unused;
    cJSON *m = cJSON_GetObjectItem(root, "__metadata__");
    for (cJSON *c = m->child, *next; c; c = next) {
        next = c->next;
        if (!strncmp(c->string, "xxh3:", 5)) cJSON_DeleteItemFromObjectCaseSensitive(m, c->string);
    }
}

static void set_meta(cJSON *root, void *kv) {
    const char *const *p = kv;
    cJSON *m = cJSON_GetObjectItem(root, "__metadata__");
    cJSON_DeleteItemFromObjectCaseSensitive(m, p[0]);
    cJSON_AddStringToObject(m, p[0], p[1]);
}

Test(safetensors, every_tensor_needs_its_checksum) {
    const char *p = path_in("a.safetensors");
    write_sample(p);
    edit_header(p, drop_meta, "xxh3:bias");
    expect_fail(p, MG_ERR_FORMAT, "tensor 'bias' has no checksum", "xxh3:bias");
}

Test(safetensors, checksums_deleted_and_a_bit_flipped_is_refused) {
    const char *p = path_in("a.safetensors");
    write_sample(p);
    edit_header(p, drop_all_checksums, NULL);
    char *buf;
    size_t n;
    read_bytes(p, &buf, &n);
    buf[n - 1] ^= 0x01; /* scale's last byte */
    write_bytes(p, buf, n);
    mg_free(buf);
    expect_fail(p, MG_ERR_FORMAT, "has no checksum", NULL);
}

Test(safetensors, header_checksum_missing_is_refused_saying_why) {
    const char *p = path_in("a.safetensors");
    write_sample(p);
    edit_header(p, drop_meta, "xxh3:__metadata__");
    expect_fail(p, MG_ERR_FORMAT, "no header checksum", "written by a modgrad from before");
}

Test(safetensors, header_checksum_covers_metadata_and_tensor_table) {
    const char *p = path_in("a.safetensors");
    write_sample(p);
    edit_header(p, set_meta, (const char *[]){"step", "70"});
    expect_fail(p, MG_ERR_FORMAT, "the header", "checksum mismatch");
    write_sample(p);
    edit_header(p, set_meta, (const char *[]){"added", "1"});
    expect_fail(p, MG_ERR_FORMAT, "the header", "checksum mismatch");
    /* bias (5) reshaped to (5, 1): same bytes, same tensor checksum */
    write_sample(p);
    char *buf;
    size_t n;
    read_bytes(p, &buf, &n);
    uint64_t h = header_len(buf);
    cJSON *root = cJSON_ParseWithLength(buf + 8, h);
    cJSON *shape = cJSON_GetObjectItem(cJSON_GetObjectItem(root, "bias"), "shape");
    cJSON_AddItemToArray(shape, cJSON_CreateNumber(1));
    char *json = cJSON_PrintUnformatted(root);
    write_raw(p, json, buf + 8 + h, n - 8 - h);
    cJSON_free(json);
    cJSON_Delete(root);
    mg_free(buf);
    expect_fail(p, MG_ERR_FORMAT, "the header", "checksum mismatch");
}

/* The header checksum is what safetensors.h documents: recomputed here from
 * that description, byte by byte. */
Test(safetensors, header_checksum_follows_the_documented_encoding) {
    const char *p = path_in("a.safetensors");
    write_sample(p);
    mg_st_file *f;
    cr_assert_eq(mg_st_load(p, &f), MG_OK, "%s", mg_errmsg());
    unsigned char b[4096];
    size_t k = 0;
#define U64(x)                                                                                     \
    do {                                                                                           \
        uint64_t v_ = (uint64_t)(x);                                                               \
        for (int i_ = 0; i_ < 8; i_++) b[k++] = (unsigned char)(v_ >> (8 * i_));                   \
    } while (0)
#define STR(s)                                                                                     \
    do {                                                                                           \
        U64(strlen(s));                                                                            \
        memcpy(b + k, s, strlen(s));                                                               \
        k += strlen(s);                                                                            \
    } while (0)
    /* metadata in key order: step, xxh3:bias, xxh3:embed, xxh3:scale */
    const char *keys[] = {"step", "xxh3:bias", "xxh3:embed", "xxh3:scale"};
    U64(4);
    for (int i = 0; i < 4; i++) {
        STR(keys[i]);
        STR(mg_st_meta(f, keys[i]));
    }
    /* tensors in name order: bias [48, 68), embed [0, 48), scale [68, 72) */
    U64(3);
    STR("bias");
    STR("F32");
    U64(1);
    U64(5);
    U64(48);
    U64(68);
    STR("embed");
    STR("F32");
    U64(2);
    U64(3);
    U64(4);
    U64(0);
    U64(48);
    STR("scale");
    STR("F32");
    U64(0);
    U64(68);
    U64(72);
#undef U64
#undef STR
    char hex[17];
    snprintf(hex, sizeof hex, "%016llx", (unsigned long long)XXH3_64bits(b, k));
    cr_assert_str_eq(mg_st_meta(f, "xxh3:__metadata__"), hex);
    mg_st_free(f);
}

Test(safetensors, duplicate_keys_are_refused) {
    const char *p = path_in("dup.safetensors");
    char zeros[8] = {0};
    write_raw(p,
              "{\"__metadata__\":{\"step\":\"1\",\"step\":\"9\"},"
              "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}",
              zeros, 8);
    expect_fail(p, MG_ERR_FORMAT, "metadata has the key 'step' twice", NULL);
    write_raw(p,
              "{\"a\":{\"dtype\":\"F32\",\"dtype\":\"I64\",\"shape\":[2],\"data_offsets\":[0,8]}}",
              zeros, 8);
    expect_fail(p, MG_ERR_FORMAT, "tensor 'a' has the key 'dtype' twice", NULL);
    write_raw(p,
              "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
              "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}",
              zeros, 8);
    expect_fail(p, MG_ERR_FORMAT, "tensor 'a' appears twice", NULL);
}

/* A foreign file with tensors laid out as json (no checksums needed to reach
 * the layout check, which comes first). */
static void layout_case(const char *tensors, size_t ndata, const char *n1, const char *n2) {
    const char *p = path_in("lay.safetensors");
    char json[1024], zeros[64] = {0};
    snprintf(json, sizeof json, "{%s}", tensors);
    write_raw(p, json, zeros, ndata);
    mg_st_file *f = (mg_st_file *)1;
    cr_assert_eq(mg_st_load_foreign(p, &f), MG_ERR_FORMAT, "%s accepted", tensors);
    cr_assert_null(f);
    cr_assert(strstr(mg_errmsg(), p) && strstr(mg_errmsg(), n1), "%s", mg_errmsg());
    if (n2) cr_assert(strstr(mg_errmsg(), n2), "%s", mg_errmsg());
}

#define T(name, b, e, n)                                                                           \
    "\"" name "\":{\"dtype\":\"F32\",\"shape\":[" #n "],\"data_offsets\":[" #b "," #e "]}"

Test(safetensors, tensors_must_tile_the_data_section) {
    /* a hole between two tensors */
    layout_case(T("a", 0, 8, 2) "," T("b", 12, 20, 2), 20, "4 bytes between tensors 'a' and 'b'",
                "belong to no tensor");
    /* bytes before the first tensor */
    layout_case(T("a", 8, 16, 2), 16, "the first 8 bytes of data belong to no tensor", "'a'");
    /* overlapping tensors separated by a zero-size one */
    layout_case(T("a", 0, 8, 2) "," T("z", 4, 4, 0) "," T("b", 4, 12, 2), 12, "overlap", NULL);
    /* a zero-size tensor inside another's bytes */
    layout_case(T("a", 0, 8, 2) "," T("z", 4, 4, 0), 8, "tensors 'a' and 'z' overlap", NULL);
    /* two tensors on the same bytes */
    layout_case(T("a", 0, 8, 2) "," T("b", 0, 8, 2), 8, "overlap", NULL);
    /* zero-size tensors where one tensor ends and the next begins: fine */
    const char *p = path_in("ok.safetensors");
    float v[4] = {1, 2, 3, 4};
    write_raw(p,
              "{" T("z0", 0, 0, 0) "," T("a", 0, 8, 2) "," T("z1", 8, 8, 0) "," T(
                  "b", 8, 16, 2) "," T("z2", 16, 16, 0) "}",
              v, 16);
    mg_st_file *f;
    cr_assert_eq(mg_st_load_foreign(p, &f), MG_OK, "%s", mg_errmsg());
    cr_assert_eq(mg_st_count(f), 5);
    cr_assert_eq(mg_st_data(f, mg_st_find(f, "b"))[1], 4.0f);
    mg_st_free(f);
}
#undef T

/* Zero-size tensors round-trip through our own writer and strict reader. */
Test(safetensors, zero_size_tensors_round_trip) {
    const char *p = path_in("z.safetensors");
    mg_st_writer *w = mg_st_writer_new();
    cr_assert_eq(mg_st_add_f32(w, "e", 2, (int64_t[]){0, 3}, NULL), MG_OK, "%s", mg_errmsg());
    cr_assert_eq(mg_st_add_f32(w, "bias", 1, (int64_t[]){5}, bias), MG_OK, "%s", mg_errmsg());
    cr_assert_eq(mg_st_add_f32(w, "e2", 1, (int64_t[]){0}, NULL), MG_OK, "%s", mg_errmsg());
    cr_assert_eq(mg_st_save(w, p), MG_OK, "%s", mg_errmsg());
    mg_st_writer_free(w);
    mg_st_file *f;
    cr_assert_eq(mg_st_load(p, &f), MG_OK, "%s", mg_errmsg());
    cr_assert_eq(mg_st_numel(f, mg_st_find(f, "e")), 0);
    cr_assert_eq(mg_st_data(f, mg_st_find(f, "bias"))[4], bias[4]);
    mg_st_free(f);
}

Test(safetensors, metadata_counts_and_finite_numbers) {
    const char *p = path_in("m.safetensors");
    const char *kv[][2] = {
        {"zero", "0"},    {"n", "120"},   {"neg", "-100"}, {"abc", "abc"},
        {"lead", "050"},  {"plus", "+5"}, {"space", " 5"}, {"big", "99999999999999999999"},
        {"w", "1.5e2"},   {"nan", "nan"}, {"inf", "inf"},  {"huge", "1e999"},
        {"tail", "2.5x"}, {"empty", ""}};
    mg_st_writer *w = mg_st_writer_new();
    cr_assert_eq(mg_st_add_f32(w, "bias", 1, (int64_t[]){5}, bias), MG_OK);
    for (size_t i = 0; i < sizeof kv / sizeof *kv; i++)
        cr_assert_eq(mg_st_add_meta(w, kv[i][0], kv[i][1]), MG_OK, "%s", mg_errmsg());
    cr_assert_eq(mg_st_save(w, p), MG_OK, "%s", mg_errmsg());
    mg_st_writer_free(w);
    mg_st_file *f;
    cr_assert_eq(mg_st_load(p, &f), MG_OK, "%s", mg_errmsg());
    int64_t x = -7;
    cr_assert_eq(mg_st_meta_count(f, "zero", 10, &x), MG_OK);
    cr_assert_eq(x, 0);
    cr_assert_eq(mg_st_meta_count(f, "n", 120, &x), MG_OK);
    cr_assert_eq(x, 120);
    cr_assert_eq(mg_st_meta_count(f, "n", 119, &x), MG_ERR_FORMAT);
    cr_assert(strstr(mg_errmsg(), "\"n\" is \"120\"") && strstr(mg_errmsg(), "0 to 119"), "%s",
              mg_errmsg());
    const char *bad[] = {"neg", "abc", "lead", "plus", "space", "big", "w", "empty", "absent"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        x = -7;
        cr_assert_eq(mg_st_meta_count(f, bad[i], INT64_MAX, &x), MG_ERR_FORMAT, "%s", bad[i]);
        cr_assert_eq(x, -7);
        cr_assert(strstr(mg_errmsg(), p) && strstr(mg_errmsg(), bad[i]), "%s", mg_errmsg());
    }
    double d = 0;
    cr_assert_eq(mg_st_meta_finite(f, "w", &d), MG_OK);
    cr_assert_eq(d, 150.0);
    const char *badf[] = {"nan", "inf", "huge", "tail", "empty", "space", "abc", "absent"};
    for (size_t i = 0; i < sizeof badf / sizeof *badf; i++) {
        cr_assert_eq(mg_st_meta_finite(f, badf[i], &d), MG_ERR_FORMAT, "%s", badf[i]);
        cr_assert(strstr(mg_errmsg(), badf[i]), "%s", mg_errmsg());
    }
    mg_st_free(f);
}
