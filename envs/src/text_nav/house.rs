//! The house of Text-Nav: rooms, exits, furniture, objects, and the commands that change it.
//!
//! Eight rooms joined by open doorways (LMRL-Gym's `make_game.py` layout), tables in the
//! bedroom, living room and dining room, a chest in the office and a fridge in the kitchen,
//! both closed at the start, and seven portable objects.

use serde::{Deserialize, Serialize};

/// A room of the house.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Room {
    Bedroom,
    Office,
    Bathroom,
    LivingRoom,
    Kitchen,
    DiningRoom,
    Garden,
    Backyard,
}

/// How the rooms are joined.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Layout {
    /// LMRL-Gym's house: every room has its own set of exits, so one look at the exits tells
    /// where the agent is ([`Room::exits`]).
    #[default]
    Distinct,
    /// A house that hides: the garden, the backyard and the bathroom are bare passages with the
    /// same two exits (east and west) and the same description, strung between the kitchen and
    /// the living room and beyond it; the agent must remember its path to know where it is
    /// ([`Layout::exits`]).
    LookAlike,
}

impl Layout {
    /// The doorways of `room` in this layout, in the order east, north, south, west. Every
    /// doorway is two-way (checked by a test).
    pub const fn exits(self, room: Room) -> &'static [(Compass, Room)] {
        use Compass::{East, North, South, West};
        match self {
            Self::Distinct => room.exits(),
            Self::LookAlike => match room {
                Room::Kitchen => &[(East, Room::Garden)],
                Room::Garden => &[(East, Room::Backyard), (West, Room::Kitchen)],
                Room::Backyard => &[(East, Room::LivingRoom), (West, Room::Garden)],
                Room::LivingRoom => {
                    &[(East, Room::Bathroom), (North, Room::Bedroom), (South, Room::Office), (West, Room::Backyard)]
                }
                Room::Bathroom => &[(East, Room::DiningRoom), (West, Room::LivingRoom)],
                Room::DiningRoom => &[(West, Room::Bathroom)],
                Room::Bedroom => &[(South, Room::LivingRoom)],
                Room::Office => &[(North, Room::LivingRoom)],
            },
        }
    }

    /// The room beyond the doorway of `room` in `direction`, if there is one.
    pub fn neighbour(self, room: Room, direction: Compass) -> Option<Room> {
        self.exits(room).iter().find(|(d, _)| *d == direction).map(|(_, next)| *next)
    }

    /// The shortest first step from `from` to `to` (`None` when already there).
    pub fn next_step(self, from: Room, to: Room) -> Option<Compass> {
        if from == to {
            return None;
        }
        // Breadth-first search over eight rooms; first moves are carried along.
        let mut seen = [false; 8];
        seen[from as usize] = true;
        let mut frontier: Vec<(Room, Compass)> = Vec::new();
        for (direction, room) in self.exits(from) {
            seen[*room as usize] = true;
            frontier.push((*room, *direction));
        }
        while !frontier.is_empty() {
            if let Some((_, first)) = frontier.iter().find(|(room, _)| *room == to) {
                return Some(*first);
            }
            let mut next = Vec::new();
            for (room, first) in frontier {
                for (_, neighbour) in self.exits(room) {
                    if !seen[*neighbour as usize] {
                        seen[*neighbour as usize] = true;
                        next.push((*neighbour, first));
                    }
                }
            }
            frontier = next;
        }
        None
    }

    /// The rooms, in [`Room::ALL`] order, that look like the description `exits` and
    /// `furniture` (what a room shows of itself whatever the objects in it).
    pub fn rooms_looking_like(self, exits: &[Compass], furniture: Furniture) -> Vec<Room> {
        Room::ALL
            .into_iter()
            .filter(|room| {
                let own = self.exits(*room);
                own.len() == exits.len()
                    && own.iter().all(|(direction, _)| exits.contains(direction))
                    && Furniture::of(*room) == furniture
            })
            .collect()
    }
}

/// What a room shows of itself: its table or container, if any.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Furniture {
    pub table: bool,
    pub container: Option<Container>,
}

impl Furniture {
    pub const fn of(room: Room) -> Self {
        Self { table: room.has_table(), container: room.container() }
    }
}

/// A compass direction of a doorway.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Compass {
    North,
    South,
    East,
    West,
}

impl Compass {
    pub const ALL: [Self; 4] = [Self::North, Self::South, Self::East, Self::West];

    pub const fn name(self) -> &'static str {
        match self {
            Self::North => "north",
            Self::South => "south",
            Self::East => "east",
            Self::West => "west",
        }
    }
}

impl Room {
    pub const ALL: [Self; 8] = [
        Self::Bedroom,
        Self::Office,
        Self::Bathroom,
        Self::LivingRoom,
        Self::Kitchen,
        Self::DiningRoom,
        Self::Garden,
        Self::Backyard,
    ];

    pub const fn name(self) -> &'static str {
        match self {
            Self::Bedroom => "bedroom",
            Self::Office => "office",
            Self::Bathroom => "bathroom",
            Self::LivingRoom => "living room",
            Self::Kitchen => "kitchen",
            Self::DiningRoom => "dining room",
            Self::Garden => "garden",
            Self::Backyard => "backyard",
        }
    }

    /// The doorways of the room, in the order east, north, south, west (alphabetical, as they
    /// are listed).
    pub const fn exits(self) -> &'static [(Compass, Room)] {
        use Compass::{East, North, South, West};
        match self {
            Self::Bedroom => &[(South, Self::Bathroom), (West, Self::LivingRoom)],
            Self::LivingRoom => &[(East, Self::Bedroom), (South, Self::Office), (West, Self::DiningRoom)],
            Self::DiningRoom => &[(East, Self::LivingRoom), (West, Self::Kitchen)],
            Self::Kitchen => &[(East, Self::DiningRoom), (North, Self::Garden), (West, Self::Backyard)],
            Self::Garden => &[(South, Self::Kitchen)],
            Self::Office => &[(East, Self::Bathroom), (North, Self::LivingRoom)],
            Self::Bathroom => &[(North, Self::Bedroom), (West, Self::Office)],
            Self::Backyard => &[(East, Self::Kitchen)],
        }
    }

    pub const fn has_table(self) -> bool {
        matches!(self, Self::Bedroom | Self::LivingRoom | Self::DiningRoom)
    }

    /// The container standing in the room, if any.
    pub const fn container(self) -> Option<Container> {
        match self {
            Self::Office => Some(Container::Chest),
            Self::Kitchen => Some(Container::Fridge),
            _ => None,
        }
    }
}

/// A closable container.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Container {
    Chest,
    Fridge,
}

impl Container {
    pub const fn name(self) -> &'static str {
        match self {
            Self::Chest => "chest",
            Self::Fridge => "fridge",
        }
    }

    const fn slot(self) -> usize {
        match self {
            Self::Chest => 0,
            Self::Fridge => 1,
        }
    }
}

/// A portable object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Item {
    StaleFood,
    FreshFood,
    Bowl,
    CoffeeCup,
    Plate,
    Utensils,
    Fruit,
}

impl Item {
    pub const ALL: [Self; 7] =
        [Self::StaleFood, Self::FreshFood, Self::Bowl, Self::CoffeeCup, Self::Plate, Self::Utensils, Self::Fruit];

    pub const fn name(self) -> &'static str {
        match self {
            Self::StaleFood => "stale food",
            Self::FreshFood => "fresh food",
            Self::Bowl => "bowl",
            Self::CoffeeCup => "coffee cup",
            Self::Plate => "plate",
            Self::Utensils => "utensils",
            Self::Fruit => "fruit",
        }
    }

    pub const fn edible(self) -> bool {
        matches!(self, Self::StaleFood | Self::FreshFood | Self::Fruit)
    }
}

/// Where an object is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    Table(Room),
    Floor(Room),
    Inside(Container),
    Held,
    Eaten,
}

/// Where an object is taken from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Table,
    Floor,
    Inside(Container),
}

/// A command the house understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    Go(Compass),
    Take(Item, Source),
    Drop(Item),
    PutOnTable(Item),
    Insert(Item, Container),
    Eat(Item),
    Open(Container),
    Close(Container),
}

impl Command {
    /// The command's text, as listed among the admissible commands.
    pub fn text(self) -> String {
        match self {
            Self::Go(direction) => format!("go {}", direction.name()),
            Self::Take(item, Source::Floor) => format!("take {}", item.name()),
            Self::Take(item, Source::Table) => format!("take {} from table", item.name()),
            Self::Take(item, Source::Inside(container)) => format!("take {} from {}", item.name(), container.name()),
            Self::Drop(item) => format!("drop {}", item.name()),
            Self::PutOnTable(item) => format!("put {} on table", item.name()),
            Self::Insert(item, container) => format!("insert {} into {}", item.name(), container.name()),
            Self::Eat(item) => format!("eat {}", item.name()),
            Self::Open(container) => format!("open {}", container.name()),
            Self::Close(container) => format!("close {}", container.name()),
        }
    }
}

/// The state of the house in one episode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct House {
    pub room: Room,
    /// Indexed by `Item as usize`.
    pub items: [Place; 7],
    /// Indexed by chest, fridge.
    open: [bool; 2],
    pub layout: Layout,
}

impl House {
    /// The house at the start of an episode, the agent in `room` (LMRL-Gym's layout).
    pub const fn new(room: Room) -> Self {
        Self::with_layout(room, Layout::Distinct)
    }

    /// The house at the start of an episode with `layout`, the agent in `room`.
    pub const fn with_layout(room: Room, layout: Layout) -> Self {
        Self {
            layout,
            room,
            items: [
                Place::Table(Room::LivingRoom),
                Place::Table(Room::LivingRoom),
                Place::Table(Room::Bedroom),
                Place::Table(Room::DiningRoom),
                Place::Table(Room::DiningRoom),
                Place::Inside(Container::Chest),
                Place::Inside(Container::Fridge),
            ],
            open: [false, false],
        }
    }

    /// The doorways of the agent's room.
    pub const fn exits(&self) -> &'static [(Compass, Room)] {
        self.layout.exits(self.room)
    }

    pub const fn place(&self, item: Item) -> Place {
        self.items[item as usize]
    }

    pub const fn is_open(&self, container: Container) -> bool {
        self.open[container.slot()]
    }

    /// Objects at a place, in [`Item::ALL`] order.
    pub fn items_at(&self, place: Place) -> impl Iterator<Item = Item> + '_ {
        Item::ALL.into_iter().filter(move |item| self.place(*item) == place)
    }

    /// The goal: the stale food is in the fridge and the fridge is closed.
    pub fn is_won(&self) -> bool {
        self.place(Item::StaleFood) == Place::Inside(Container::Fridge) && !self.is_open(Container::Fridge)
    }

    /// Whether a command is possible in the current state.
    pub fn allows(&self, command: Command) -> bool {
        let room = self.room;
        let open_here = |container: Container| room.container() == Some(container) && self.is_open(container);
        match command {
            Command::Go(direction) => self.exits().iter().any(|(d, _)| *d == direction),
            Command::Take(item, Source::Floor) => self.place(item) == Place::Floor(room),
            Command::Take(item, Source::Table) => self.place(item) == Place::Table(room),
            Command::Take(item, Source::Inside(container)) => {
                self.place(item) == Place::Inside(container) && open_here(container)
            }
            Command::Drop(item) => self.place(item) == Place::Held,
            Command::PutOnTable(item) => self.place(item) == Place::Held && room.has_table(),
            Command::Insert(item, container) => self.place(item) == Place::Held && open_here(container),
            Command::Eat(item) => self.place(item) == Place::Held && item.edible(),
            Command::Open(container) => room.container() == Some(container) && !self.is_open(container),
            Command::Close(container) => open_here(container),
        }
    }

    /// Every command possible in the current state, sorted by text (examine, look and
    /// inventory are not commands of this world).
    pub fn admissible(&self) -> impl Iterator<Item = (&'static str, Command)> + '_ {
        all_commands()
            .iter()
            .filter(|(_, command)| self.allows(*command))
            .map(|(text, command)| (text.as_str(), *command))
    }

    /// Whether a command could be possible for an agent that does not know what it carries:
    /// [`House::allows`] with every command about a carried object (drop, put on a table,
    /// insert, eat) allowed whenever the room affords it, carried or not.
    pub fn allows_whatever_is_carried(&self, command: Command) -> bool {
        let room = self.room;
        let open_here = |container: Container| room.container() == Some(container) && self.is_open(container);
        match command {
            Command::Drop(_) => true,
            Command::PutOnTable(_) => room.has_table(),
            Command::Insert(_, container) => open_here(container),
            Command::Eat(item) => item.edible(),
            _ => self.allows(command),
        }
    }

    /// The commands listed to an agent that does not see what it carries, sorted by text:
    /// every [`House::allows_whatever_is_carried`] command, so the list says nothing of the
    /// inventory.
    pub fn listed_whatever_is_carried(&self) -> impl Iterator<Item = (&'static str, Command)> + '_ {
        all_commands()
            .iter()
            .filter(|(_, command)| self.allows_whatever_is_carried(*command))
            .map(|(text, command)| (text.as_str(), *command))
    }

    /// Applies an admissible command.
    pub fn apply(&mut self, command: Command) {
        match command {
            Command::Go(direction) => {
                if let Some(next) = self.layout.neighbour(self.room, direction) {
                    self.room = next;
                }
            }
            Command::Take(item, _) => self.items[item as usize] = Place::Held,
            Command::Drop(item) => self.items[item as usize] = Place::Floor(self.room),
            Command::PutOnTable(item) => self.items[item as usize] = Place::Table(self.room),
            Command::Insert(item, container) => self.items[item as usize] = Place::Inside(container),
            Command::Eat(item) => self.items[item as usize] = Place::Eaten,
            Command::Open(container) => self.open[container.slot()] = true,
            Command::Close(container) => self.open[container.slot()] = false,
        }
    }
}

/// Every command of the world with its text, sorted by text (built once).
pub fn all_commands() -> &'static [(String, Command)] {
    static COMMANDS: std::sync::OnceLock<Vec<(String, Command)>> = std::sync::OnceLock::new();
    COMMANDS.get_or_init(|| {
        let containers = [Container::Chest, Container::Fridge];
        let mut commands: Vec<Command> =
            [Compass::North, Compass::South, Compass::East, Compass::West].map(Command::Go).to_vec();
        for item in Item::ALL {
            commands.extend([
                Command::Take(item, Source::Floor),
                Command::Take(item, Source::Table),
                Command::Drop(item),
                Command::PutOnTable(item),
                Command::Eat(item),
            ]);
            for container in containers {
                commands.extend([Command::Take(item, Source::Inside(container)), Command::Insert(item, container)]);
            }
        }
        commands.extend(containers.map(Command::Open));
        commands.extend(containers.map(Command::Close));
        let mut listed: Vec<(String, Command)> =
            commands.into_iter().map(|command| (command.text(), command)).collect();
        listed.sort_by(|a, b| a.0.cmp(&b.0));
        listed
    })
}

/// Lower-cases a command and collapses its whitespace; `None` when it is too long to be one.
pub fn normalise_command(text: &str) -> Option<String> {
    if text.len() > 200 {
        return None;
    }
    let mut normal = String::with_capacity(text.len());
    for word in text.split_whitespace() {
        if !normal.is_empty() {
            normal.push(' ');
        }
        normal.extend(word.chars().map(|c| c.to_ascii_lowercase()));
    }
    while normal.ends_with(['.', '!']) {
        normal.pop();
    }
    Some(normal)
}

/// The shortest first step from `from` to `to` in LMRL-Gym's house (`None` when already there).
pub fn next_step(from: Room, to: Room) -> Option<Compass> {
    Layout::Distinct.next_step(from, to)
}

/// The room whose doorways are exactly `exits` (every room's set of exit directions differs).
pub fn room_with_exits(exits: &[Compass]) -> Option<Room> {
    Room::ALL.into_iter().find(|room| {
        room.exits().len() == exits.len() && room.exits().iter().all(|(direction, _)| exits.contains(direction))
    })
}
