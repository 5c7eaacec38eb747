/* variant.h — the model variant the --model-file tests write into a
 * temporary directory outside the tree, as a researcher would: an MLP with
 * a square activation whose classifier is its own embedding (tied), in 24
 * lines. VARIANT_SOURCE_WITH(x) is the same file with one more line x, for
 * the tests that change it. */
#ifndef MG_TEST_VARIANT_H
#define MG_TEST_VARIANT_H

#define VARIANT_SOURCE_WITH(extra)                                                                 \
    "/* square_tied.c: h = (x W1)^2, logits = (h W2) E^T */\n"                                     \
    "#include <math.h>\n"                                                                          \
    "#include \"models/model.h\"\n"                                                                \
    "#include \"ops/ops.h\"\n"                                                                     \
    "static const mg_model_option options[] = {\n"                                                 \
    "    {\"d\", MG_OPTION_INT, 32, NULL, \"embedding dimension\"},\n"                             \
    "    {\"width\", MG_OPTION_INT, 64, NULL, \"hidden units\"},\n"                                \
    "};\n"                                                                                         \
    "static mg_status build(mg_graph *g, const mg_model_io *in, const double *o,\n"                \
    "                       mg_model_out *out) {\n"                                                \
    "    int p = in->n_values, d = (int)o[0], w = (int)o[1]; /* a, b in 0..p-1 */\n"               \
    "    mg_tensor *E = mg_param(g, \"embed\", MG_NORMAL(1 / sqrt(d)), MG_SHAPE(p, d));\n"         \
    "    mg_tensor *W1 = mg_param(g, \"hidden.w\", MG_UNIFORM(1 / sqrt(2 * d)), MG_SHAPE(2 * d, "  \
    "w));\n"                                                                                       \
    "    mg_tensor *W2 = mg_param(g, \"out.w\", MG_UNIFORM(1 / sqrt(w)), MG_SHAPE(w, d));\n"       \
    "    mg_tensor *x = mg_concat2(g, mg_gather(g, E, in->a), mg_gather(g, E, in->b));\n"          \
    "    out->features = mg_matmul(g, mg_square(g, mg_matmul(g, x, W1)), W2);\n"                   \
    "    out->logits = mg_matmul(g, out->features, mg_transpose(g, E));\n"                         \
    "    return mg_graph_status(g);\n"                                                             \
    "}\n"                                                                                          \
    "static const mg_model_def square_tied = {\n"                                                  \
    "    .name = \"square_tied\", .summary = \"x^2 MLP, classifier tied to the embedding\",\n"     \
    "    .options = options, .n_options = 2, .default_p = 97, .default_frac = 0.5,\n"              \
    "    .default_steps = 5000, .embed = \"embed\", .classifier = \"embed\", .build = build};\n"   \
    "MG_REGISTER_MODEL(square_tied)\n" extra

#define VARIANT_SOURCE VARIANT_SOURCE_WITH("")

#endif
