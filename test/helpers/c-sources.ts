// C sources shared by the ELF and BTF unit tests (compiled at test time with compileCText in test/helpers/toolchain.ts).
// TYPES_C covers every BTF kind clang 14 emits plus maps, globals, subprogram calls and their relocations.

/** A BPF program touching structs with bitfields, unions, enums, typedef chains, qualifiers, type and decl tags. */
export const TYPES_C = `
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#define __tag(x) __attribute__((btf_decl_tag(x)))
#define __user __attribute__((btf_type_tag("user")))

typedef unsigned int u32_t;
typedef u32_t u32_alias;
struct bits { unsigned int a:3, b:5; int c:7; unsigned long long d; char e[3]; } __tag("bits_tag");
union u { int i; float f; double d; char c; };
enum color { RED = -1, GREEN = 5, BLUE = 0x7fffffff };
struct fwd_only;
struct node { struct node *next; const volatile u32_alias *restrict p; int __user *uptr; struct fwd_only *fwd;
  union u uu; enum color col; int arr[2][3]; _Bool flag; };
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 4); __type(key, u32_t); __type(value, struct node); } nodes SEC(".maps");
int global_counter __tag("var_tag") = 3;
const volatile long ro_val = 7;
static long bss_val;
char LICENSE[] SEC("license") = "GPL";

static __attribute__((noinline)) int helper(struct bits *b __tag("param_tag"), int x) { return b->a + x; }
__attribute__((noinline)) int global_fn(int x, int (*cb)(void *, long)) __tag("fn_tag");
int global_fn(int x, int (*cb)(void *, long)) { return x * 2 + (cb ? 1 : 0); }

SEC("xdp") int prog(struct xdp_md *ctx) {
  struct bits b = {};
  u32_t k = 0; struct node *n = bpf_map_lookup_elem(&nodes, &k);
  if (!n) return 0;
  b.a = ctx->data & 7;
  bss_val++;
  return helper(&b, global_counter + ro_val + n->col + n->flag) + global_fn(1, 0);
}
`;

/** A BPF program producing func info, line info and every CO-RE relocation kind clang 14 emits. */
export const CORE_C = `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

struct pair {
	int a;
	int b;
	struct { long x; long y; } inner;
	int arr[4];
	unsigned int bf:3, bf2:9;
} __attribute__((preserve_access_index));
struct gone { int z; } __attribute__((preserve_access_index));
enum e_local { E_ONE = 1, E_TWO = 2 };

static __attribute__((noinline)) long sub(struct pair *p)
{
	return BPF_CORE_READ(p, inner.y);
}

SEC("tc")
int relo(struct __sk_buff *skb)
{
	struct pair *pp = (void *)(long)skb->data;
	long r = 0;
	r += bpf_core_field_offset(pp->b);
	r += bpf_core_field_size(pp->inner);
	r += bpf_core_field_exists(pp->arr[2]);
	r += __builtin_preserve_field_info(pp->a, BPF_FIELD_SIGNED);
	r += BPF_CORE_READ_BITFIELD(pp, bf2);
	r += bpf_core_type_id_local(struct pair);
	r += bpf_core_type_id_kernel(struct pair);
	r += bpf_core_type_exists(struct gone);
	r += bpf_core_type_size(struct pair);
	r += bpf_core_enum_value_exists(enum e_local, E_ONE);
	r += bpf_core_enum_value(enum e_local, E_TWO);
	r += sub(pp);
	return r;
}
char LICENSE[] SEC("license") = "GPL";
`;
