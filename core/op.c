/* op.c — the op registry: ops by name. The only mutable global state of the
 * engine besides the thread/BLIS settings (gemm.c) and the error buffer. */
#include "core/op.h"
#include "core/text.h"

#include <stdio.h>
#include <string.h>

#define MG_MAX_OPS 256

static const mg_op *registry[MG_MAX_OPS];
static int n_registered;

mg_status mg_op_register(const mg_op *op) {
    if (!op) return mg_fail(MG_ERR_ARG, "mg_op_register: op is NULL");
    if (!op->name || !*op->name) return mg_fail(MG_ERR_ARG, "mg_op_register: the op has no name");
    if (!op->shape)
        return mg_fail(MG_ERR_ARG, "mg_op_register: op '%s' has no shape function", op->name);
    if (!op->forward && !(op->flags & MG_OP_VIEW))
        return mg_fail(MG_ERR_ARG, "mg_op_register: op '%s' has no forward kernel", op->name);
    if ((op->flags & MG_OP_DISTINCT) && !(op->flags & MG_OP_VIEW))
        return mg_fail(MG_ERR_ARG, "mg_op_register: op '%s' is MG_OP_DISTINCT but not a view",
                       op->name);
    if ((op->flags & (MG_OP_ELEMENTWISE | MG_OP_ROWWISE)) && (op->flags & MG_OP_VIEW))
        return mg_fail(MG_ERR_ARG,
                       "mg_op_register: op '%s' is a view; elementwise and row-wise ops compute "
                       "their output",
                       op->name);
    if (op->arity < 0 || op->arity > MG_MAX_INPUTS)
        return mg_fail(MG_ERR_ARG,
                       "mg_op_register: op '%s' has arity %d; it must be 0 (variadic) to %d",
                       op->name, op->arity, MG_MAX_INPUTS);
    for (int i = 0; i < n_registered; i++) {
        if (registry[i] == op) return MG_OK;
        if (strcmp(registry[i]->name, op->name) == 0)
            return mg_fail(MG_ERR_ARG, "mg_op_register: an op named '%s' is already registered",
                           op->name);
    }
    if (n_registered == MG_MAX_OPS)
        return mg_fail(MG_ERR_ARG, "mg_op_register: the registry is full (%d ops)", MG_MAX_OPS);
    registry[n_registered++] = op;
    return MG_OK;
}

const mg_op *mg_op_find(const char *name) {
    for (int i = 0; name && i < n_registered; i++)
        if (strcmp(registry[i]->name, name) == 0) return registry[i];
    char known[768] = "";
    for (int i = 0; i < n_registered; i++) mg_list_add(known, sizeof known, registry[i]->name);
    mg_fail(MG_ERR_ARG, "unknown op '%s'; registered ops: %s", name ? name : "(null)", known);
    return NULL;
}

int mg_op_count(void) { return n_registered; }
const mg_op *mg_op_at(int i) { return i >= 0 && i < n_registered ? registry[i] : NULL; }
