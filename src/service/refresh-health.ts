import { type ExpiringImage, refreshState } from './refresh.ts';
import type { Service } from './service.ts';

/**
 * The images close to expiry: what this process's last refresh pass found, each with its
 * refresh push's current state, and the refreshes recorded (by any process) whose expiring
 * task has not expired yet, a `done` one included: its old task is still what older graphs use.
 */
export async function expiringImages(service: Service): Promise<ExpiringImage[]> {
  const found = service.refresher.expiring;
  const recorded = await service.store.listRefreshes({ expiresAfter: service.refresher.now() }).catch(() => null);
  if (!recorded) return [...found];
  const key = (r: { repository: string; digest: string; taskId: string }) => `${r.repository}\0${r.digest}\0${r.taskId}`;
  const byKey = new Map(recorded.map((r) => [key(r), r]));
  const listed = found.map((image): ExpiringImage => {
    const refresh = byKey.get(key(image));
    return refresh ? { ...image, refresh: refreshState(refresh.pushState), pushId: refresh.pushId } : image;
  });
  const seen = new Set(found.map(key));
  for (const r of recorded) {
    if (seen.has(key(r))) continue;
    listed.push({ repository: r.repository, image: r.image, digest: r.digest, taskId: r.taskId, expires: r.expires, refresh: refreshState(r.pushState), pushId: r.pushId });
  }
  return listed.sort((a, b) => a.expires.localeCompare(b.expires) || a.repository.localeCompare(b.repository) || a.image.localeCompare(b.image));
}
