"""Summarise results/*.jsonl into summary.json and a markdown table (printed)."""
import json, glob, numpy as np
from itertools import combinations
R = [json.loads(l) for f in sorted(glob.glob('results/results_*.jsonl')) for l in open(f)]
def tau(a, b):
    s = 0; n = 0
    for i, j in combinations(range(len(a)), 2):
        x = np.sign(a[i]-a[j]) * np.sign(b[i]-b[j]); s += x; n += 1
    return s / n
alone = {}
for r in R:
    if r.get('type') == 'child':
        alone.setdefault(r['space'], {}).setdefault(r['child'], []).append(r['val_acc'])
alone_mean = {sp: [float(np.mean(d[k])) for k in sorted(d)] for sp, d in alone.items()}
rows = []
for r in R:
    if r.get('type') == 'child' or 'error' in r:
        continue
    c = r['cfg']
    row = dict(name=c['name'], space=c['space'], cost=round(r['cost_rel_today'], 2), steps=r['steps'],
               val_lib=round(r['val_acc_lib'], 3), val_recal=round(float(np.mean(r['eval_recal'])), 3),
               val_running=round(float(np.mean(r['eval_running'])), 3),
               val_fullwidth=round(float(np.mean(r['eval_batch_fullwidth'])), 3),
               children_recal=round(float(np.mean(r['children_recal'])), 3),
               named_recal={k: round(v, 3) for k, v in r['named_recal'].items()},
               final_train_loss=round(r['epochs_log'][-1]['train_loss_path0'], 3),
               tau_vs_alone=round(tau(r['children_recal'], alone_mean[c['space']]), 3) if c['space'] in alone_mean else None,
               gpu_train_s=round(r['train_seconds_gpu'], 1))
    rows.append(row)
json.dump({'rows': rows, 'children_alone': {sp: {str(k): v for k, v in d.items()} for sp, d in alone.items()},
           'children_alone_mean': alone_mean}, open('summary.json', 'w'), indent=1)
for r in sorted(rows, key=lambda r: (r['space'], r['name'])):
    print(f"| {r['name']} | {r['cost']} | {r['val_lib']:.3f} | {r['val_recal']:.3f} | {r['val_fullwidth']:.3f} | {r['children_recal']:.3f} | {r['named_recal'].get('all_k5_e6', 0):.2f} | {r['final_train_loss']:.2f} | {r['tau_vs_alone']} |")
print(alone_mean)
