/* safetensors.h — checkpoints as standard safetensors files.
 *
 * The format (https://huggingface.co/docs/safetensors): an 8-byte
 * little-endian header length N, N bytes of JSON mapping each tensor name to
 * {"dtype", "shape", "data_offsets": [begin, end]} (offsets relative to the
 * data section) plus an optional "__metadata__" object of strings, then the
 * raw little-endian tensor bytes. numpy, torch and the safetensors package
 * read these files as they are.
 *
 * modgrad writes float32 ("F32") tensors only, and puts in the metadata, for
 * each tensor, "xxh3:<name>" = the XXH3-64 of its bytes as 16 hex digits,
 * and "xxh3:__metadata__", the header checksum (below), so that every byte
 * of the file, its metadata included, is covered by a checksum. The reader
 * checks everything before handing out a single value: sizes, duplicate
 * keys, offsets (the tensors must tile the data section exactly, as the
 * reference implementation requires), dtypes, shapes and the checksums; an
 * error names the file and, where there is one, the tensor or key. Files are
 * written atomically (temporary + fsync + rename): a crash never leaves half
 * a checkpoint.
 *
 * The header checksum, "xxh3:__metadata__", is the XXH3-64 (16 lowercase hex
 * digits) of this byte string, where u64(x) is x as 8 little-endian bytes and
 * str(s) is u64(byte length of s) followed by the bytes of s:
 *   u64(number of metadata entries, this one left out), then for each entry
 *   in byte order of its key: str(key) str(value); then u64(number of
 *   tensors), then for each tensor in byte order of its name: str(name)
 *   str(dtype) u64(rank) u64(each dimension) u64(begin) u64(end).
 * It covers the metadata (the tensor checksums with it) and the tensor table,
 * whatever the order of the JSON keys. Checkpoints written before it existed
 * lack it and are refused by mg_st_load with a message that says so. */
#ifndef MG_SAFETENSORS_H
#define MG_SAFETENSORS_H

#include <stdint.h>

#include "core/error.h"
#include "core/params.h"

/* Most dimensions a tensor of a safetensors file may have here. */
#define MG_ST_MAX_DIMS 8
/* Longest tensor name the writer accepts. */
#define MG_ST_NAME_MAX 255

/* ---- writing -------------------------------------------------------------- */

typedef struct mg_st_writer mg_st_writer;

mg_st_writer *mg_st_writer_new(void); /* NULL (message set) if out of memory */
void mg_st_writer_free(mg_st_writer *w);

/* Adds a float32 tensor. The name is copied; data is NOT: it must stay valid
 * and unchanged until mg_st_save. ndim may be 0 (a scalar, one element).
 * Fails on an empty or duplicate name, the name "__metadata__", or a
 * negative dimension. */
mg_status mg_st_add_f32(mg_st_writer *w, const char *name, int ndim, const int64_t *shape,
                        const float *data);

/* Adds a metadata string (both copied). Keys starting with "xxh3:" are
 * reserved for the checksums mg_st_save computes; a duplicate key is an
 * error. */
mg_status mg_st_add_meta(mg_st_writer *w, const char *key, const char *value);

/* Adds every parameter of the store as prefix + name, with its data taken
 * from base, a buffer with the store's layout (mg_params_total floats; a
 * parameter's values start at its offset). base can be the parameters
 * themselves or, e.g., the optimizer's moments with prefix "adam.m.". */
mg_status mg_st_add_store(mg_st_writer *w, const mg_params *p, const char *prefix,
                          const float *base);

/* mg_st_add_store with the store's own parameter values as base. */
mg_status mg_st_add_params(mg_st_writer *w, mg_params *p, const char *prefix);

/* Writes the file atomically ("<path>.tmp.<pid>", fsync, rename onto path).
 * The writer can be saved again or freed afterwards. */
mg_status mg_st_save(mg_st_writer *w, const char *path);

/* ---- reading -------------------------------------------------------------- */

typedef struct mg_st_file mg_st_file;

/* Reads and validates a modgrad checkpoint. On failure *out is NULL and the
 * message names the file (and the tensor or key): truncated, malformed
 * header, a key twice (in the header, the metadata or a tensor's entry), a
 * dtype other than F32, a shape that does not match its byte span, tensors
 * that do not tile the data section (a hole, an overlap, bytes after the
 * last), a missing or wrong checksum (every tensor and the header must have
 * one), or a checksum for a tensor the file lacks. */
mg_status mg_st_load(const char *path, mg_st_file **out);
/* The same checks for a file from any writer (numpy, torch, the safetensors
 * package), except that checksums are optional; those present are verified. */
mg_status mg_st_load_foreign(const char *path, mg_st_file **out);
void mg_st_free(mg_st_file *f);

int mg_st_count(const mg_st_file *f); /* tensors, in file order */
const char *mg_st_name(const mg_st_file *f, int i);
int mg_st_find(const mg_st_file *f, const char *name); /* -1 if absent */
/* *ndim gets the rank; shape must hold MG_ST_MAX_DIMS entries. */
void mg_st_shape(const mg_st_file *f, int i, int *ndim, int64_t *shape);
int64_t mg_st_numel(const mg_st_file *f, int i);
const float *mg_st_data(const mg_st_file *f, int i);          /* 4-byte aligned */
const char *mg_st_meta(const mg_st_file *f, const char *key); /* NULL if absent */
/* The metadata value of key as a whole number from 0 to max, written plainly
 * ("0", "120": digits only, no sign, no leading zero, no spaces). Absent or
 * anything else is MG_ERR_FORMAT naming the file, the key and the value. */
mg_status mg_st_meta_count(const mg_st_file *f, const char *key, int64_t max, int64_t *out);
/* The metadata value of key as a finite number (the whole value one decimal
 * number; "nan", "inf" and overflow refused), else as mg_st_meta_count. */
mg_status mg_st_meta_finite(const mg_st_file *f, const char *key, double *out);
const char *mg_st_path(const mg_st_file *f);

/* Copies tensor prefix + name of every parameter into base (a buffer with
 * the store's layout). Checks first that every parameter is present with
 * exactly its shape; on any failure base is left untouched. Tensors of the
 * file that the store does not have are ignored (a checkpoint also holds the
 * optimizer's state under other prefixes). */
mg_status mg_st_read_store(const mg_st_file *f, const mg_params *p, const char *prefix,
                           float *base);

#endif
