"""Ray-cast renderer: a ``World`` seen from one camera pose -> RGB, depth and instances.

Dim names: ``H, W`` image rows and columns, ``N`` objects.

One primary ray per pixel, all in vectorised numpy float32:

1. Background: the table slab and the room box (floor, walls, ceiling) for every pixel.
2. Objects: each object is intersected only inside its projected bounding rectangle and
   z-buffered against what is already there (objects always lie in front of the table top
   for a camera above it). The unoccluded hit count per object gives the visible fraction.
3. Shading: Lambert + Blinn-Phong specular under one directional light plus ambient, hard
   cast shadows from shadow rays toward the light (softened on the table), contact
   darkening around object bases, procedural textures (table, floor tiles), printed text
   looked up in each object's glyph bitmap.
4. Sensor: optics blur (which also anti-aliases edges), vignetting, Gaussian RGB noise;
   depth with distance-dependent noise, 1 mm quantisation, and holes (out of range, depth
   discontinuities, grazing angles, random dropout blobs and speckles).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from fo1_ros.synth.camera import intrinsics, project, world_rays
from fo1_ros.synth.config import SceneConfig
from fo1_ros.synth.layout import object_rect
from fo1_ros.synth.shapes import Shape, intersect
from fo1_ros.synth.world import World, value_noise

# Material ids of the per-pixel material map.
TABLE_TOP, TABLE_SIDE, WALL, FLOOR, CEILING, OBJECT = range(6)
LEG_M = 0.05  # table legs: square section, inset from the table corners
LEG_INSET_M = 0.07


@dataclass
class RenderOutput:
    """Raw render of one view (ground-truth boxes are derived from it in ``scene.py``)."""

    rgb: np.ndarray  # (H, W, 3) uint8
    depth_clean: np.ndarray  # (H, W) float32 noise-free depth z of the first hit (m)
    depth_m: np.ndarray  # (H, W) float32 metres, NaN invalid (1 mm quantised)
    depth_mm: np.ndarray  # (H, W) uint16 millimetres, 0 invalid
    instance: np.ndarray  # (H, W) int16 object index, -1 elsewhere
    full_pixels: np.ndarray  # (N,) int64 pixels each object covers without occluders
    amodal_boxes: np.ndarray  # (N, 4) float64 xyxy box of the unoccluded object in the image
    K: np.ndarray  # (3, 3) float64


def _rect_of_points(points: np.ndarray, pose, K, width: int, height: int):
    uvz = project(points, pose, K)
    if np.any(uvz[:, 2] <= 0.01):
        return 0, 0, width, height
    x0 = max(0, int(math.floor(uvz[:, 0].min())) - 1)
    y0 = max(0, int(math.floor(uvz[:, 1].min())) - 1)
    x1 = min(width, int(math.ceil(uvz[:, 0].max())) + 2)
    y1 = min(height, int(math.ceil(uvz[:, 1].max())) + 2)
    if x0 >= x1 or y0 >= y1:
        return None
    return x0, y0, x1, y1


def _background(world: World, o, dx, dy, dz, pose, K):
    """Table slab, its legs, and the room box.

    Returns:
        t (H, W) float32, material (H, W) uint8, normals [nx, ny, nz] each (H, W) float32.
    """
    table, room = world.table, world.room
    # The slab's local frame has its base at z = 0: shift the origin up by the thickness.
    t_tab, n_tab = intersect(table.shape, o[0], o[1], o[2] + table.thickness, dx, dy, dz,
                             normals=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        tx = (np.where(dx > 0, room.half_x, -room.half_x) - o[0]) / dx
        ty = (np.where(dy > 0, room.half_y, -room.half_y) - o[1]) / dy
        tz = (np.where(dz > 0, room.ceiling_z, room.floor_z) - o[2]) / dz
    tx = np.where(np.isfinite(tx) & (tx > 0), tx, np.inf)
    ty = np.where(np.isfinite(ty) & (ty > 0), ty, np.inf)
    tz = np.where(np.isfinite(tz) & (tz > 0), tz, np.inf)
    t_room = np.minimum(np.minimum(tx, ty), tz)
    mat = np.where(tz <= t_room, np.where(dz > 0, CEILING, FLOOR), WALL).astype(np.uint8)
    nx = np.where((tx <= t_room) & (tz > t_room), -np.sign(dx), 0).astype(np.float32)
    ny = np.where((ty <= t_room) & (tx > t_room) & (tz > t_room), -np.sign(dy), 0
                  ).astype(np.float32)
    nz = np.where(tz <= t_room, -np.sign(dz), 0).astype(np.float32)
    on_table = np.isfinite(t_tab)
    top = on_table & (n_tab[..., 2] > 0.5)
    mat[on_table] = TABLE_SIDE
    mat[top] = TABLE_TOP
    t = np.where(on_table, t_tab, t_room).astype(np.float32)
    nx = np.where(on_table, n_tab[..., 0], nx)
    ny = np.where(on_table, n_tab[..., 1], ny)
    nz = np.where(on_table, n_tab[..., 2], nz)
    H, W = t.shape
    leg_h = -table.thickness - room.floor_z
    leg = Shape("cuboid", (LEG_M, LEG_M, leg_h))
    for sx in (-1, 1):
        for sy in (-1, 1):
            cx = sx * (table.half_x - LEG_INSET_M)
            cy = sy * (table.half_y - LEG_INSET_M)
            box = np.array([[cx + a * LEG_M / 2, cy + b * LEG_M / 2, z] for a in (-1, 1)
                            for b in (-1, 1) for z in (room.floor_z, -table.thickness)])
            rect = _rect_of_points(box, pose, K, W, H)
            if rect is None:
                continue
            x0, y0, x1, y1 = rect
            tl, nl = intersect(leg, o[0] - cx, o[1] - cy, o[2] - room.floor_z,
                               dx[y0:y1, x0:x1], dy[y0:y1, x0:x1], dz[y0:y1, x0:x1],
                               normals=True)
            closer = tl < t[y0:y1, x0:x1]
            t[y0:y1, x0:x1][closer] = tl[closer]
            mat[y0:y1, x0:x1][closer] = TABLE_SIDE
            for c, arr in enumerate((nx, ny, nz)):
                arr[y0:y1, x0:x1][closer] = nl[..., c][closer]
    return t, mat, [nx, ny, nz]


def _background_albedo(world: World, mat, px, py, pz):
    """Albedo (H, W, 3) float32 of the non-object surfaces."""
    table, room = world.table, world.room
    H, W = mat.shape
    alb = np.empty((H, W, 3), np.float32)
    alb[:] = room.wall_rgb
    # Wall: a darker skirting board near the floor.
    skirt = (mat == WALL) & (pz < room.floor_z + 0.08)
    alb[skirt] = room.wall_rgb * 0.75
    sel = mat == TABLE_TOP
    ty, tx = table.texture.shape[:2]
    ix = np.clip(((px[sel] + table.half_x) / table.texel_m).astype(np.int32), 0, tx - 1)
    iy = np.clip(((py[sel] + table.half_y) / table.texel_m).astype(np.int32), 0, ty - 1)
    alb[sel] = table.texture[iy, ix]
    alb[mat == TABLE_SIDE] = table.texture.mean(axis=(0, 1)) * 0.7
    sel = mat == FLOOR
    fx, fy = px[sel] / room.tile_m, py[sel] / room.tile_m
    gx, gy = np.floor(fx), np.floor(fy)
    grout = ((fx - gx) < 0.015) | ((fy - gy) < 0.015)
    # Per-tile brightness from an integer hash of the tile index.
    h = (gx.astype(np.int64) * 73856093) ^ (gy.astype(np.int64) * 19349663)
    var = 0.92 + 0.16 * ((h % 1009) / 1009.0).astype(np.float32)
    shade = np.where(grout, np.float32(0.6), var)
    alb[sel] = room.floor_rgb[None, :] * shade[:, None]
    alb[mat == CEILING] = 0.9
    return alb


def _sampling_grid(config: SceneConfig) -> tuple[np.ndarray, np.ndarray, int, int]:
    """Output K, and the K and size of the grid actually ray cast.

    With ``supersample == 2`` the grid has ``(2H + 1, 2W + 1)`` samples spaced half a pixel
    apart, placed so that sample ``(2v + 1, 2u + 1)`` is exactly the centre of output pixel
    ``(v, u)``: depth, instances and ground truth come from those centre samples (identical
    to a 1x render), and colour from a [1, 2, 1] / 4 tent filter over the 3x3 samples around
    each centre.
    """
    K = intrinsics(config)
    if config.supersample == 1:
        return K, K, config.height, config.width
    Kr = K.copy()
    Kr[0, 0] *= 2
    Kr[1, 1] *= 2
    Kr[0, 2] = 2 * K[0, 2] + 1
    Kr[1, 2] = 2 * K[1, 2] + 1
    return K, Kr, 2 * config.height + 1, 2 * config.width + 1


def _tent_down(a: np.ndarray) -> np.ndarray:
    """(2H + 1, 2W + 1, ...) samples -> (H, W, ...) with a separable [1, 2, 1] / 4 filter."""
    a = 0.25 * a[:-2:2] + 0.5 * a[1::2] + 0.25 * a[2::2]
    return 0.25 * a[:, :-2:2] + 0.5 * a[:, 1::2] + 0.25 * a[:, 2::2]


def _draw_objects(world: World, o: list[float], rays: tuple[np.ndarray, np.ndarray, np.ndarray], pose: np.ndarray,
                  Kr: np.ndarray, ss: int, zbuf: np.ndarray, nrm: list[np.ndarray]):
    """Intersect every object inside its projected rectangle, z-buffered against ``zbuf``.

    Updates ``zbuf`` (H, W) and the normals ``nrm`` (3 x (H, W)) in place where an object is
    closer. Returns ``inst`` (H, W) int16 object index (-1 elsewhere), ``ink`` (H, W) float32
    printed-text coverage, ``full`` (N,) int64 unoccluded output pixels per object and
    ``amodal`` (N, 4) float64 xyxy output-pixel boxes of the unoccluded objects.
    """
    dx, dy, dz = rays
    H, W = zbuf.shape
    inst = np.full((H, W), -1, np.int16)
    ink = np.zeros((H, W), np.float32)
    n_obj = len(world.objects)
    full = np.zeros(n_obj, np.int64)
    amodal = np.zeros((n_obj, 4), np.float64)
    for j, obj in enumerate(world.objects):
        rect = object_rect(obj, pose, Kr, W, H)
        if rect is None:
            continue
        x0, y0, x1, y1 = rect
        sdx, sdy, sdz = dx[y0:y1, x0:x1], dy[y0:y1, x0:x1], dz[y0:y1, x0:x1]
        t, n = obj.intersect(*o, sdx, sdy, sdz, normals=True)  # (h, w), (h, w, 3)
        hit = np.isfinite(t)
        # Coverage counts only output-pixel centres (every other sample when supersampled).
        r0, c0 = ((1 - y0) % 2, (1 - x0) % 2) if ss == 2 else (0, 0)
        centre_hit = hit[r0::ss, c0::ss]
        full[j] = int(centre_hit.sum())
        if full[j]:
            rows = np.flatnonzero(centre_hit.any(axis=1))
            cols = np.flatnonzero(centre_hit.any(axis=0))
            # Output-pixel index of the first centre sample in the rect.
            oy, ox = ((y0 + r0 - 1) // 2, (x0 + c0 - 1) // 2) if ss == 2 else (y0, x0)
            amodal[j] = (ox + cols[0], oy + rows[0], ox + cols[-1] + 1, oy + rows[-1] + 1)
        if not hit.any():
            continue
        zsub = zbuf[y0:y1, x0:x1]
        closer = t < zsub
        zsub[closer] = t[closer]
        inst[y0:y1, x0:x1][closer] = j
        for c in range(3):
            nrm[c][y0:y1, x0:x1][closer] = n[..., c][closer]
        isub = ink[y0:y1, x0:x1]
        if obj.text_bitmap is not None:
            tc = t[closer]
            lx, ly, lz = obj.to_local(o[0] + tc * sdx[closer], o[1] + tc * sdy[closer],
                                      o[2] + tc * sdz[closer])
            nl = np.stack(obj.to_local(n[..., 0][closer], n[..., 1][closer],
                                       n[..., 2][closer], is_direction=True), -1)
            isub[closer] = obj.text_alpha(lx, ly, lz, nl)
        else:
            isub[closer] = 0
    return inst, ink, full, amodal


def _materials(world: World, mat: np.ndarray, inst: np.ndarray, ink: np.ndarray, points):
    """Albedo (H, W, 3) float32, specular gloss (H, W) and shininess (H, W) of every pixel;
    ``points`` are the hit points ``px, py, pz``, 3 x (H, W)."""
    H, W = mat.shape
    is_obj = inst >= 0
    albedo = _background_albedo(world, mat, *points)
    gloss = np.full((H, W), 0.05, np.float32)
    shin = np.full((H, W), 20.0, np.float32)
    gloss[mat == TABLE_TOP] = 0.12
    if world.objects:
        obj_alb = np.stack([ob.albedo for ob in world.objects]).astype(np.float32)
        ink_rgb = np.stack([np.array(ob.text_rgb or (0, 0, 0), np.float32) / 255
                            for ob in world.objects])
        ids = inst[is_obj]
        a = ink[is_obj][:, None]
        albedo[is_obj] = obj_alb[ids] * (1 - a) + ink_rgb[ids] * a
        gloss[is_obj] = np.array([ob.gloss for ob in world.objects], np.float32)[ids] * (
            1 - 0.7 * ink[is_obj])  # printed ink is matte
        shin[is_obj] = np.array([ob.shininess for ob in world.objects], np.float32)[ids]
    return albedo, gloss, shin


def _cast_shadows(world: World, mat: np.ndarray, inst: np.ndarray, nrm: list[np.ndarray], ndl: np.ndarray,
                  points, pose: np.ndarray, Kr: np.ndarray, L: np.ndarray) -> np.ndarray:
    """(H, W) float32 light visibility: 0 where a shadow ray toward ``L`` hits an object,
    softened on the table top (``points``: the hit points px, py, pz, 3 x (H, W))."""
    px, py, pz = points
    H, W = mat.shape
    lit = np.ones((H, W), np.float32)
    receiver = ((mat == TABLE_TOP) | (inst >= 0)) & (ndl > 0)
    for j, obj in enumerate(world.objects):
        c = obj.corners_world()
        ground = c - (c[:, 2:3] / L[2]) * L[None, :].astype(np.float64)
        rect = _rect_of_points(np.concatenate([c, ground]), pose, Kr, W, H)
        if rect is None:
            continue
        x0, y0, x1, y1 = rect
        sel = receiver[y0:y1, x0:x1]
        if obj.shape.kind != "cup":  # convex shapes cannot shadow themselves
            sel = sel & (inst[y0:y1, x0:x1] != j)
        ys, xs = np.nonzero(sel)
        if ys.size == 0:
            continue
        eps = np.float32(1e-3)
        t, _ = obj.intersect(
            px[y0:y1, x0:x1][sel] + eps * nrm[0][y0:y1, x0:x1][sel],
            py[y0:y1, x0:x1][sel] + eps * nrm[1][y0:y1, x0:x1][sel],
            pz[y0:y1, x0:x1][sel] + eps * nrm[2][y0:y1, x0:x1][sel],
            L[0], L[1], L[2], t_min=1e-4)
        shadowed = np.isfinite(t)
        lit[y0 + ys[shadowed], x0 + xs[shadowed]] = 0
    # Soft penumbra on the table only (blurring across object silhouettes would smear).
    k = max(3, int(round(3 * W / 640)) | 1)  # penumbra: a fixed fraction of the view
    soft = cv2.GaussianBlur(lit, (k, k), 0)
    return np.where(mat == TABLE_TOP, soft, lit)


def _contact_occlusion(world: World, mat: np.ndarray, px: np.ndarray, py: np.ndarray, pose: np.ndarray,
                       Kr: np.ndarray) -> np.ndarray:
    """(H, W) float32 contact darkening of the table around each object's base (cheap
    ambient occlusion): 1 = open, down to 0.45 at a base."""
    H, W = mat.shape
    ao = np.ones((H, W), np.float32)
    for obj in world.objects:
        reach = 0.25 * obj.shape.size[2] + 0.01
        c = obj.corners_world()[:4]
        ring = np.concatenate([c + [dxy[0], dxy[1], 0.0] for dxy in
                               ((-reach, -reach), (reach, -reach), (reach, reach),
                                (-reach, reach))])
        rect = _rect_of_points(ring, pose, Kr, W, H)
        if rect is None:
            continue
        x0, y0, x1, y1 = rect
        sel = mat[y0:y1, x0:x1] == TABLE_TOP
        if not sel.any():
            continue
        lx, ly, _ = obj.to_local(px[y0:y1, x0:x1][sel], py[y0:y1, x0:x1][sel], 0.0)
        sx, sy, _ = obj.shape.size
        if obj.shape.kind in ("cuboid", "pyramid"):
            dist = np.hypot(np.maximum(np.abs(lx) - sx / 2, 0), np.maximum(np.abs(ly) - sy / 2, 0))
        else:
            dist = np.maximum(np.hypot(lx, ly) - sx / 2, 0)
        occ = 1 - 0.55 * np.exp(-dist / (0.35 * reach))
        asub = ao[y0:y1, x0:x1]
        asub[sel] = np.minimum(asub[sel], occ)
    return ao


def _rgb_sensor(img: np.ndarray, config: SceneConfig, rng: np.random.Generator) -> np.ndarray:
    """Linear radiance (H, W, 3) float32 -> (H, W, 3) uint8: optics blur, vignetting, noise."""
    H, W = img.shape[:2]
    sigma = config.blur_sigma_px * W / 640
    if sigma > 0:
        img = cv2.GaussianBlur(img, (0, 0), sigma)
    xs = np.linspace(-1, 1, W, dtype=np.float32)
    ys = np.linspace(-H / W, H / W, H, dtype=np.float32)
    img *= (1 - 0.18 * (xs[None, :] ** 2 + ys[:, None] ** 2))[..., None]  # vignetting
    img = img * 255
    if config.rgb_noise_std > 0:
        img += rng.standard_normal((H, W, 3), dtype=np.float32) * config.rgb_noise_std
    return np.clip(img + 0.5, 0, 255).astype(np.uint8)


def _depth_sensor(z: np.ndarray, cos_view: np.ndarray | None, config: SceneConfig,
                  rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """True depth z (H, W) float32 -> (depth_mm (H, W) uint16 0-invalid, depth_m (H, W)
    float32 NaN-invalid): noise, 1 mm quantisation, holes at range limits, discontinuities,
    grazing angles (``cos_view``: |cos| between ray and normal, None when not needed) and
    random dropout."""
    H, W = z.shape
    valid = (z >= config.depth_min_m) & (z <= config.depth_max_m)
    zn = z
    if config.depth_noise_base_m > 0 or config.depth_noise_quad > 0:
        sd = config.depth_noise_base_m + config.depth_noise_quad * (z - 0.4) ** 2
        zn = z + sd * rng.standard_normal((H, W), dtype=np.float32)
    if config.depth_edge_px > 0:
        thr = 0.03 * z + 0.01  # a jump this large between neighbours is a discontinuity
        jx = np.abs(np.diff(z, axis=1)) > thr[:, :-1]
        jy = np.abs(np.diff(z, axis=0)) > thr[:-1, :]
        edge = np.zeros((H, W), bool)
        edge[:, :-1] |= jx
        edge[:, 1:] |= jx
        edge[:-1, :] |= jy
        edge[1:, :] |= jy
        if config.depth_edge_px > 1:
            k = 2 * (config.depth_edge_px - 1) + 1
            edge = cv2.dilate(edge.view(np.uint8), np.ones((k, k), np.uint8)).astype(bool)
        valid &= ~edge
    if config.depth_grazing_cos > 0:
        valid &= cos_view >= config.depth_grazing_cos
    if config.depth_dropout_fraction > 0:
        small = value_noise(rng, (max(4, H // 4), max(4, W // 4)), 14)
        k = int(round((1 - config.depth_dropout_fraction) * (small.size - 1)))
        thr = np.partition(small.ravel(), k)[k]
        field = cv2.resize(small, (W, H), interpolation=cv2.INTER_LINEAR)
        valid &= field <= thr
        valid &= rng.random((H, W), dtype=np.float32) >= 0.002  # isolated speckle dropouts
    mm = np.where(valid, np.rint(zn * 1000), 0)
    mm = np.clip(mm, 0, 65535).astype(np.uint16)
    depth_m = np.where(mm > 0, mm.astype(np.float32) / np.float32(1000), np.float32(np.nan))
    return mm, depth_m


def render(world: World, pose: np.ndarray, config: SceneConfig,
           rng: np.random.Generator) -> RenderOutput:
    """Render ``world`` from ``pose`` (4, 4) world <- camera at ``config``'s image size.

    ``rng`` drives only the sensor noise (RGB noise, depth noise and holes). The steps are the
    module docstring's: background, objects (``_draw_objects``), shading (``_materials``,
    ``_cast_shadows``, ``_contact_occlusion``, Lambert + Blinn-Phong here), back to the
    output grid, then the sensors (``_rgb_sensor``, ``_depth_sensor``).
    """
    K, Kr, H, W = _sampling_grid(config)  # H, W: the ray-cast grid from here on
    ss = config.supersample
    dx, dy, dz = world_rays(pose, Kr, W, H)  # 3 x (H, W) float32, t = depth
    o = [float(v) for v in pose[:3, 3]]
    zbuf, mat, nrm = _background(world, o, dx, dy, dz, pose, Kr)
    inst, ink, full, amodal = _draw_objects(world, o, (dx, dy, dz), pose, Kr, ss, zbuf, nrm)
    mat[inst >= 0] = OBJECT

    # --- shading
    px, py, pz = o[0] + zbuf * dx, o[1] + zbuf * dy, o[2] + zbuf * dz  # 3 x (H, W)
    albedo, gloss, shin = _materials(world, mat, inst, ink, (px, py, pz))
    light = world.light
    L = light.direction.astype(np.float32)
    ndl = nrm[0] * L[0] + nrm[1] * L[1] + nrm[2] * L[2]  # (H, W)
    if config.shadows and world.objects:
        lit = _cast_shadows(world, mat, inst, nrm, ndl, (px, py, pz), pose, Kr, L)
    else:
        lit = np.ones((H, W), np.float32)
    ao = _contact_occlusion(world, mat, px, py, pose, Kr)
    diffuse = np.maximum(ndl, 0) * lit
    amb = light.ambient
    shade = (amb * ao + (1.05 - amb) * diffuse * (0.7 + 0.3 * ao))  # (H, W)
    # Blinn-Phong: half vector between the light and the (unit) view direction.
    inv_len = 1.0 / np.sqrt(dx * dx + dy * dy + dz * dz)
    hx, hy, hz = L[0] - dx * inv_len, L[1] - dy * inv_len, L[2] - dz * inv_len
    h_len = np.sqrt(hx * hx + hy * hy + hz * hz) + 1e-6
    ndh = np.maximum((nrm[0] * hx + nrm[1] * hy + nrm[2] * hz) / h_len, 0)
    spec = config.specular * gloss * np.power(ndh, shin) * (ndl > 0) * lit
    img = albedo * (shade[..., None] * light.colour) + (spec[..., None] * light.colour)
    img *= light.exposure

    # --- back to the output grid
    if ss == 2:
        img = _tent_down(img)
        centre = (slice(1, None, 2), slice(1, None, 2))
        zbuf, inst = zbuf[centre], inst[centre]
        nrm = [c[centre] for c in nrm]
        dx, dy, dz, inv_len = dx[centre], dy[centre], dz[centre], inv_len[centre]

    # --- sensors
    rgb = _rgb_sensor(img, config, rng)
    cos_view = None
    if config.depth_grazing_cos > 0:
        cos_view = np.abs(nrm[0] * dx + nrm[1] * dy + nrm[2] * dz) * inv_len
    mm, depth_m = _depth_sensor(zbuf, cos_view, config, rng)

    return RenderOutput(
        rgb=rgb, depth_clean=np.ascontiguousarray(zbuf), depth_m=depth_m.astype(np.float32),
        depth_mm=mm, instance=np.ascontiguousarray(inst), full_pixels=full,
        amodal_boxes=amodal, K=K,
    )
