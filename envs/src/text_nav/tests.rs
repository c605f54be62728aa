use std::sync::Arc;

use sim_core::{Env, EnvKind, GymEnv, kind};

use super::*;

fn env<E: Environment<Config = TextNavConfig>>(room: Room) -> GymEnv {
    let config = TextNavConfig { start: StartSelection::Fixed(room), ..TextNavConfig::default() };
    let kind: Arc<dyn EnvKind> = kind::<E>(config).unwrap();
    GymEnv::new(kind)
}

#[test]
fn every_room_has_a_distinct_set_of_exits_and_doors_are_two_way() {
    for room in Room::ALL {
        let directions: Vec<Compass> = room.exits().iter().map(|(d, _)| *d).collect();
        assert_eq!(room_with_exits(&directions), Some(room));
        for (_, next) in room.exits() {
            assert!(next.exits().iter().any(|(_, back)| *back == room), "{room:?} -> {next:?} is one-way");
        }
    }
}

#[test]
fn walkthrough_from_the_living_room_wins() {
    let mut nav = env::<TextNavFullyObserved>(Room::LivingRoom);
    let reset = nav.reset(Some(0));
    assert!(
        reset
            .observation
            .contains("You are in the living room. There is a table. On the table: stale food, fresh food.")
    );
    assert!(reset.observation.contains("Admissible commands: go east, go south, go west, take fresh food from table"));
    for action in ["take stale food from table", "go west", "go west", "open fridge", "insert stale food into fridge"] {
        let step = nav.step(action);
        assert_eq!(step.reward, 0.0);
        assert!(!step.done() && !step.info.invalid_action, "{action}: {}", step.observation);
    }
    let step = nav.step("Close  Fridge");
    assert_eq!(step.reward, 1.0);
    assert!(step.terminated && step.info.success);
    assert_eq!(step.observation, WIN_TEXT);
}

#[test]
fn fully_observed_shows_inventory() {
    let mut nav = env::<TextNavFullyObserved>(Room::LivingRoom);
    let _ = nav.reset(Some(0));
    let step = nav.step("take stale food from table");
    assert!(step.observation.contains("You are carrying: stale food."), "{}", step.observation);
}

#[test]
fn eating_the_stale_food_loses() {
    let mut nav = env::<TextNavPartiallyObserved>(Room::LivingRoom);
    let _ = nav.reset(Some(0));
    let _ = nav.step("take stale food from table");
    let step = nav.step("eat stale food");
    assert!(step.terminated && !step.info.success);
    assert_eq!(step.reward, 0.0);
}

#[test]
fn refused_commands_cost_a_turn_and_say_why() {
    let mut nav = env::<TextNavFullyObserved>(Room::Garden);
    let _ = nav.reset(Some(0));
    let step = nav.step("go west");
    assert!(step.info.invalid_action && !step.done());
    assert!(step.observation.starts_with(REFUSAL));
    assert!(step.observation.contains("Admissible commands: go south"));
    assert_eq!(step.info.turn, 1);
}

#[test]
fn horizon_truncates() {
    let mut nav = env::<TextNavFullyObserved>(Room::Garden);
    let _ = nav.reset(Some(0));
    for turn in 1..=DEFAULT_MAX_TURNS {
        let step = nav.step(if turn % 2 == 1 { "go south" } else { "go north" });
        assert_eq!(step.truncated, turn == DEFAULT_MAX_TURNS);
    }
}

#[test]
fn partially_observed_never_names_a_room_or_the_inventory() {
    for room in Room::ALL {
        let mut nav = env::<TextNavPartiallyObserved>(room);
        let reset = nav.reset(Some(1));
        let mut texts = vec![reset.observation.to_string()];
        for action in
            ["go east", "go west", "go north", "take stale food from table", "go south", "open fridge", "go west"]
        {
            let step = nav.step(action);
            texts.push(step.observation.to_string());
            if step.done() {
                break;
            }
        }
        for text in texts {
            assert!(!text.contains("carrying") && !text.contains("You are in the "), "{text}");
            for name in Room::ALL.map(Room::name) {
                assert!(!text.contains(name), "{name} in {text}");
            }
        }
    }
}

#[test]
fn shortest_routes() {
    assert_eq!(next_step(Room::Backyard, Room::LivingRoom), Some(Compass::East));
    assert_eq!(next_step(Room::Bathroom, Room::Kitchen), Some(Compass::North));
    assert_eq!(next_step(Room::Kitchen, Room::Kitchen), None);
}

#[test]
fn look_alike_doors_are_two_way_and_passages_look_the_same() {
    let layout = Layout::LookAlike;
    for room in Room::ALL {
        for (direction, next) in layout.exits(room) {
            let back = layout.exits(*next).iter().find(|(_, r)| *r == room);
            assert!(back.is_some(), "{room:?} -> {next:?} is one-way");
            let opposite = match direction {
                Compass::North => Compass::South,
                Compass::South => Compass::North,
                Compass::East => Compass::West,
                Compass::West => Compass::East,
            };
            assert_eq!(back.map(|(d, _)| *d), Some(opposite), "{room:?} -> {next:?}");
        }
    }
    let passages = layout.rooms_looking_like(&[Compass::East, Compass::West], Furniture::of(Room::Garden));
    assert_eq!(passages, vec![Room::Bathroom, Room::Garden, Room::Backyard]);
    let houses: Vec<String> =
        passages.iter().map(|room| describe(&House::with_layout(*room, layout), View::Partial)).collect();
    assert!(houses.windows(2).all(|pair| pair[0] == pair[1]), "{houses:?}");
    // Every room reaches the living room and the kitchen.
    for room in Room::ALL {
        for target in [Room::LivingRoom, Room::Kitchen] {
            assert!(room == target || layout.next_step(room, target).is_some());
        }
    }
}

#[test]
fn partially_observed_look_alike_lists_do_not_reveal_the_inventory() {
    let config = TextNavConfig {
        start: StartSelection::Fixed(Room::LivingRoom),
        layout: Layout::LookAlike,
        ..Default::default()
    };
    let kind: Arc<dyn EnvKind> = kind::<TextNavPartiallyObserved>(config).unwrap();
    let mut nav = GymEnv::new(kind);
    let reset = nav.reset(Some(0));
    assert!(reset.observation.contains(LOOK_ALIKE_NOTE));
    let before = reset.observation.lines().last().unwrap().to_owned();
    assert!(before.contains("drop stale food"), "{before}");
    let step = nav.step("take fresh food from table");
    assert!(!step.info.invalid_action);
    let step = nav.step("take stale food from table");
    assert!(!step.info.invalid_action);
    // Carrying both now: the list differs only by the foods no longer on the table.
    let after = step.observation.lines().last().unwrap().to_owned();
    let without_takes = |list: &str| -> Vec<String> {
        list.split(", ").filter(|command| !command.starts_with("take ")).map(str::to_owned).collect()
    };
    assert_eq!(without_takes(&before), without_takes(&after));
    // A listed command about something not carried is refused.
    let step = nav.step("drop bowl");
    assert!(step.info.invalid_action, "{}", step.observation);
    // LMRL-Gym's house, partially observed, lists only what is possible.
    let mut plain = env::<TextNavPartiallyObserved>(Room::LivingRoom);
    let reset = plain.reset(Some(0));
    assert!(!reset.observation.contains("drop stale food"));
    assert!(!reset.observation.contains(LOOK_ALIKE_NOTE));
}
