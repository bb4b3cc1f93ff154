"""A deterministic district like the source's: Guangzhong Road, Hongkou, Shanghai.

9,165 sensor points of 39 types: 8,235 inside 137 compounds and 930 on the street; the model compound
水电路191弄 何家宅小区 has 681 devices of 10 types. The same seed always gives the same devices (ids, places, owners),
so a registry written today matches the traffic simulated tomorrow.
"""
from __future__ import annotations

import random
from dataclasses import dataclass

TOTAL, INSIDE, STREET, COMPOUNDS = 9165, 8235, 930, 137
MODEL_COMPOUND, MODEL_ADDRESS, MODEL_DEVICES = "何家宅小区", "水电路191弄 何家宅小区", 681
CENTRE = (31.2685, 121.4790)   # Guangzhong Road sub-district, roughly


@dataclass(frozen=True)
class DeviceType:
    code: str
    prefix: str
    scenario: str
    owner_team: str
    heartbeat_s: int
    where: str           # inside | street | both
    weight: int          # share of the district's devices of its kind
    severity: str = "medium"


#: The 39 types. The source names the first nine (their scenarios have their own playbooks); the rest are the usual
#: IoT points of a Shanghai sub-district, handled by the general playbook.
TYPES: tuple[DeviceType, ...] = (
    DeviceType("smoke_alarm", "SMK", "three_in_one", "fire_station", 300, "inside", 60, "high"),
    DeviceType("temperature_alarm", "TMP", "three_in_one", "fire_station", 300, "inside", 20, "high"),
    DeviceType("hydrant_pressure_monitor", "HYD", "hydrant_pressure", "water_company", 600, "both", 12, "high"),
    DeviceType("door_access", "DAC", "group_renting", "housing_office", 600, "inside", 30),
    DeviceType("door_closure_monitor", "DCM", "door_open", "property_company", 300, "inside", 40, "low"),
    DeviceType("geomagnetic_detector", "GEO", "fire_lane", "property_company", 300, "both", 25),
    DeviceType("electronic_fence", "FEN", "street_trading", "urban_management", 300, "street", 20),
    DeviceType("patrol_anchor", "ANC", "cleaning_patrol", "sanitation", 900, "street", 15, "low"),
    DeviceType("dumping_camera", "CAM", "illegal_dumping", "urban_management", 300, "both", 8),
    DeviceType("electrical_hazard_monitor", "ELE", "electrical_hazard", "safety_office", 300, "inside", 25, "high"),
    DeviceType("ebike_charging_monitor", "EBK", "ebike_charging", "safety_office", 300, "inside", 20, "high"),
    DeviceType("gas_leak_detector", "GAS", "gas_leak", "fire_rescue", 300, "inside", 15, "critical"),
    DeviceType("water_leak_sensor", "WLK", "water_leak", "property_company", 900, "inside", 10),
    DeviceType("water_meter", "WTR", "water_usage", "water_company", 3600, "inside", 30, "low"),
    DeviceType("elevator_monitor", "ELV", "elevator_fault", "market_supervision", 300, "inside", 12, "high"),
    DeviceType("manhole_cover", "MHC", "manhole_cover", "urban_management", 900, "street", 10, "high"),
    DeviceType("trash_bin_level", "BIN", "trash_overflow", "sanitation", 900, "both", 15, "low"),
    DeviceType("fall_from_height_camera", "FHC", "thrown_objects", "police", 300, "inside", 8, "high"),
    DeviceType("elderly_alarm_button", "SOS", "elderly_alarm", "residents_committee", 1800, "inside", 12, "critical"),
    DeviceType("elderly_water_meter", "EWM", "elderly_care", "residents_committee", 3600, "inside", 8),
    DeviceType("parking_sensor", "PRK", "illegal_parking", "traffic_police", 300, "street", 10, "low"),
    DeviceType("noise_monitor", "NOI", "noise", "urban_management", 600, "both", 5, "low"),
    DeviceType("dust_monitor", "DST", "dust", "urban_management", 600, "street", 3, "low"),
    DeviceType("air_quality_monitor", "AIR", "air_quality", "community_office", 600, "both", 3, "low"),
    DeviceType("flood_level_sensor", "FLD", "flooding", "community_office", 600, "street", 3, "high"),
    DeviceType("tree_tilt_sensor", "TRE", "tree_tilt", "sanitation", 1800, "street", 3),
    DeviceType("street_light_monitor", "LGT", "street_light", "urban_management", 1800, "street", 10, "low"),
    DeviceType("billboard_tilt_sensor", "BBD", "billboard_tilt", "urban_management", 1800, "street", 3, "high"),
    DeviceType("crowd_counter", "CRW", "crowd_density", "police", 300, "street", 4, "high"),
    DeviceType("security_camera", "SEC", "intrusion", "police", 300, "inside", 20),
    DeviceType("perimeter_infrared", "PIR", "intrusion_perimeter", "property_company", 300, "inside", 8),
    DeviceType("fire_door_monitor", "FDR", "fire_door_open", "property_company", 300, "inside", 10),
    DeviceType("sprinkler_pressure", "SPR", "sprinkler_pressure", "fire_station", 600, "inside", 6, "high"),
    DeviceType("rooftop_water_tank", "TNK", "water_tank_level", "water_company", 1800, "inside", 3),
    DeviceType("septic_tank_level", "SEP", "septic_overflow", "property_company", 1800, "inside", 3),
    DeviceType("garbage_sorting_station", "GSS", "garbage_sorting", "sanitation", 900, "inside", 6, "low"),
    DeviceType("well_cover_gas", "WCG", "sewer_gas", "urban_management", 900, "street", 2, "high"),
    DeviceType("bridge_strain_gauge", "BRG", "structure_strain", "safety_office", 3600, "street", 1, "high"),
    DeviceType("construction_site_monitor", "CSM", "construction_nuisance", "urban_management", 600, "street", 2),
)
assert len(TYPES) == 39 and len({t.code for t in TYPES}) == 39
BY_CODE = {t.code: t for t in TYPES}
#: The model compound's ten types and counts (681 in all).
MODEL_MIX = {"smoke_alarm": 180, "door_closure_monitor": 120, "door_access": 96, "electrical_hazard_monitor": 60,
             "ebike_charging_monitor": 48, "geomagnetic_detector": 40, "water_meter": 60, "hydrant_pressure_monitor": 24,
             "elevator_monitor": 28, "security_camera": 25}
assert sum(MODEL_MIX.values()) == MODEL_DEVICES and len(MODEL_MIX) == 10

_ROADS = ("广中路", "水电路", "西江湾路", "东江湾路", "中山北一路", "车站南路", "同心路", "柳营路", "大连西路", "新市北路",
          "曲阳路", "东体育会路")
_NAMES = ("新苑", "花园", "公寓", "新村", "小区", "家园", "坊", "大楼", "苑", "里")


def compounds(rng: random.Random) -> list[tuple[str, str, float, float]]:
    """(compound, address, lat, lon) of the 137 compounds, the model compound first."""
    result = [(MODEL_COMPOUND, MODEL_ADDRESS, 31.2731, 121.4745)]
    seen = {MODEL_COMPOUND}
    while len(result) < COMPOUNDS:
        road = rng.choice(_ROADS)
        lane = rng.randint(1, 999)
        name = f"{road[:2]}{rng.choice(_NAMES)}{len(result)}"
        if name in seen:
            continue
        seen.add(name)
        result.append((name, f"{road}{lane}弄 {name}", CENTRE[0] + rng.uniform(-0.009, 0.009),
                       CENTRE[1] + rng.uniform(-0.009, 0.009)))
    return result


def _spread(total: int, types: list[DeviceType], rng: random.Random) -> list[DeviceType]:
    """``total`` devices over ``types`` by weight, at least one of each."""
    weights = sum(t.weight for t in types)
    counts = {t.code: max(1, round(total * t.weight / weights)) for t in types}
    while sum(counts.values()) != total:
        code = rng.choice(types).code
        step = 1 if sum(counts.values()) < total else -1
        if counts[code] + step >= 1:
            counts[code] += step
    return [BY_CODE[code] for code, n in counts.items() for _ in range(n)]


def devices(seed: int = 7) -> list[dict]:
    """The district's registry rows (the columns of sensors.registry_file), deterministic for a seed."""
    rng = random.Random(seed)
    places = compounds(rng)
    rows: list[dict] = []
    numbers: dict[str, int] = {}

    def add(kind: DeviceType, compound, address, lat, lon, inside: bool) -> None:
        numbers[kind.code] = numbers.get(kind.code, 0) + 1
        rows.append({"id": f"{kind.prefix}-{numbers[kind.code]:05d}", "device_type": kind.code,
                     "scenario": kind.scenario, "lat": round(lat + rng.uniform(-0.0006, 0.0006), 6),
                     "lon": round(lon + rng.uniform(-0.0006, 0.0006), 6), "address": address,
                     "compound": compound, "inside_compound": inside, "owner_team": kind.owner_team,
                     "heartbeat_interval_s": kind.heartbeat_s})

    name, address, lat, lon = places[0]
    for code, n in MODEL_MIX.items():
        for _ in range(n):
            add(BY_CODE[code], name, address, lat, lon, True)
    inside_types = [t for t in TYPES if t.where in ("inside", "both")]
    for kind in _spread(INSIDE - MODEL_DEVICES, inside_types, rng):
        name, address, lat, lon = places[1 + rng.randrange(COMPOUNDS - 1)]
        add(kind, name, address, lat, lon, True)
    street_types = [t for t in TYPES if t.where in ("street", "both")]
    for kind in _spread(STREET, street_types, rng):
        road = rng.choice(_ROADS)
        add(kind, None, f"{road} {rng.randint(1, 600)}号 附近",
            CENTRE[0] + rng.uniform(-0.01, 0.01), CENTRE[1] + rng.uniform(-0.01, 0.01), False)
    return rows


#: Half the side of a compound's square on the offline basemap, in degrees (about 60 m); the model compound is larger.
COMPOUND_HALF, MODEL_HALF = 0.0005, 0.0009
#: The district's box (south, west, north, east): the compounds and street devices all fall inside it.
BOUNDS = (CENTRE[0] - 0.011, CENTRE[1] - 0.011, CENTRE[0] + 0.011, CENTRE[1] + 0.011)


def _square(lat: float, lon: float, half: float) -> list[list[float]]:
    return [[round(lon + dx, 6), round(lat + dy, 6)] for dx, dy in
            ((-half, -half), (half, -half), (half, half), (-half, half), (-half, -half))]


def geojson(seed: int = 7) -> dict:
    """The offline basemap of the command centre: the district's outline, its 137 compounds (squares around the
    places the registry uses) and its twelve roads (lines across the district), WGS-84 [lon, lat] as GeoJSON wants.
    Deterministic: the compounds come from the same seed as :func:`devices`."""
    rng = random.Random(seed)
    features = []
    south, west, north, east = BOUNDS
    features.append({"type": "Feature", "properties": {"kind": "district", "name": "广中路街道"},
                     "geometry": {"type": "Polygon", "coordinates": [[[west, south], [east, south], [east, north],
                                                                      [west, north], [west, south]]]}})
    for name, address, lat, lon in compounds(rng):
        half = MODEL_HALF if name == MODEL_COMPOUND else COMPOUND_HALF
        features.append({"type": "Feature", "properties": {"kind": "compound", "name": name, "address": address},
                         "geometry": {"type": "Polygon", "coordinates": [_square(lat, lon, half)]}})
    # roads alternate east-west and north-south, evenly spaced, each bent once so the map does not look like a grid
    for n, road in enumerate(_ROADS):
        share = (n // 2 + 1) / (len(_ROADS) // 2 + 1)
        if n % 2 == 0:
            lat = south + share * (north - south)
            line = [[west, lat], [(west + east) / 2, lat + 0.0008 * (1 if n % 4 else -1)], [east, lat]]
        else:
            lon = west + share * (east - west)
            line = [[lon, south], [lon + 0.0008 * (1 if n % 4 == 1 else -1), (south + north) / 2], [lon, north]]
        features.append({"type": "Feature", "properties": {"kind": "street", "name": road},
                         "geometry": {"type": "LineString",
                                      "coordinates": [[round(x, 6), round(y, 6)] for x, y in line]}})
    return {"type": "FeatureCollection", "features": features}
