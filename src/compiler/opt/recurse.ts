// Deep recursions without the JS call stack: a pass whose natural form recurses along def chains or
// down the dominator tree (one level per statement of the source, so thousands deep) writes the
// recursive step as a generator and runs it here on an explicit stack of frames, in the same order.

/**
 * Runs the recursive computation `step(arg)`. Where the recursive version would call itself, `step`
 * yields the argument and receives the result (`const r = yield x`); the frames live on the heap, so
 * the depth is bounded by memory, not by Node's stack. Evaluation order is exactly the recursive one.
 */
export function recurse<A, R>(step: (a: A) => Generator<A, R, R>, arg: A): R {
  const stack: Generator<A, R, R>[] = [step(arg)];
  let value = undefined as R;
  for (;;) {
    const r = stack[stack.length - 1]!.next(value);
    if (r.done) {
      stack.pop();
      if (stack.length === 0) return r.value;
      value = r.value;
    } else {
      stack.push(step(r.value));
      value = undefined as R;
    }
  }
}

/**
 * Walks a tree depth-first from `root` in pre-order, children in their listed order: `enter(node)`
 * runs before the node's subtree and may return a function that runs after it (undoing scoped state).
 */
export function walkTree<N>(root: N, children: (n: N) => readonly N[] | undefined, enter: (n: N) => (() => void) | void): void {
  const stack: { node: N; exit?: () => void; kids?: readonly N[]; k: number }[] = [];
  const push = (node: N) => {
    const exit = enter(node);
    stack.push({ node, ...(exit ? { exit } : {}), kids: children(node), k: 0 });
  };
  push(root);
  while (stack.length) {
    const top = stack[stack.length - 1]!;
    if (top.kids && top.k < top.kids.length) push(top.kids[top.k++]!);
    else {
      stack.pop();
      top.exit?.();
    }
  }
}

/** `dst.push(...src)` without spreading: a spread passes every element on the stack (a block or a
 * function of tens of thousands of instructions overflows it). */
export function appendAll<T>(dst: T[], src: readonly T[]): void {
  for (let i = 0; i < src.length; i++) dst.push(src[i]!);
}
